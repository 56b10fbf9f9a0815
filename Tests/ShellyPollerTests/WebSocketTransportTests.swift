import CurlClient
import EnergyModel
import Foundation
import Logging
import ShellySimulator
import Synchronization
import Testing
import TestSupport

@testable import ShellyPoller

/// Gen2+ plugs read over their persistent WebSocket RPC channel: one connection per plug,
/// a request frame per tick, authentication inside frames, fallback and reconnection.
@Suite("WebSocket transport", .serialized)
struct WebSocketTransportTests {
    static let client = CurlMultiClient()

    static func plug(_ simulator: ShellySimulator, _ node: String, password: String? = nil, transport: TransportSetting = .auto) -> PlugConfiguration {
        PlugConfiguration(node: node, baseURL: "http://127.0.0.1:\(simulator.port(of: node) ?? 1)", password: password, transport: transport)
    }

    /// Polls `session` `count` times, each with a fresh `timeout`; returns the outcomes.
    static func poll(_ session: PlugSession, _ count: Int, timeout: Int = 5000) async -> [PlugOutcome] {
        var outcomes: [PlugOutcome] = []
        for _ in 0..<count { outcomes.append(await session.poll(timeoutMilliseconds: timeout)) }
        return outcomes
    }

    @Test("readings over the WebSocket equal what the device served; HTTP carries only /shelly", arguments: [2, 3, 4])
    func readings(generation: Int) async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "open", port: 0, generation: generation, profile: .wyse),
            .init(node: "locked", port: 0, generation: generation, profile: .tvpc, password: "pw"),
        ])
        for (node, password) in [("open", nil), ("locked", "pw")] {
            let session = PlugSession(plug: Self.plug(simulator, node, password: password), client: Self.client, logger: Logger(label: "test"))
            let outcomes = await Self.poll(session, 5, timeout: 15_000)
            for outcome in outcomes {
                let sample = try outcome.result.get()
                #expect(simulator.servedReadings().contains { $0.node == node && $0.watts == sample.reading.watts })
            }
            #expect(session.usesWebSocket)
            session.close()
        }
        let statistics = simulator.statistics()
        await simulator.shutdown()
        // /shelly (HTTP), then 5 readings and the first challenge over the socket.
        #expect(statistics["open"]?.requests == 1 + 5, "\(String(describing: statistics["open"]))")
        #expect(statistics["locked"]?.requests == 1 + 5 + 1, "\(String(describing: statistics["locked"]))")
        #expect(statistics["locked"]?.challenged == 1)
    }

    @Test("20 password-protected plugs over WebSocket for four nonce lifetimes: nothing lost to auth, never throttled")
    func twentyPlugs() async throws {
        let specifications = (0..<20).map { SimulatedPlug.Specification(node: "ws-\($0)", port: 0, generation: 2 + $0 % 3, profile: .wyse, password: "pw") }
        let simulator = try await ShellySimulator.start(plugs: specifications, configuration: .init(firmware: 2, nonceLifetime: 3))
        let loop = PollLoop(
            plugs: specifications.map { Self.plug(simulator, $0.node, password: "pw", transport: .websocket) },
            intervalMilliseconds: 1000, client: Self.client, logger: Logger(label: "test"))
        let reports = Mutex<[TickReport]>([])
        let running = Task { await loop.run { report in reports.withLock { $0.append(report) } } }
        _ = await eventually(within: .seconds(120), every: .milliseconds(200)) { reports.withLock { $0.count } >= 13 }
        running.cancel()
        _ = await running.value
        let statistics = simulator.statistics().values.reduce(SimulatedPlug.Statistics(), +)
        await simulator.shutdown()
        let ticks = reports.withLock { $0 }
        let polls = PollAccount(ticks, plugs: 20)
        #expect(ticks.count >= 13, "ticks: \(ticks.count)")
        // Every poll is a sample or a timeout (a loaded machine may cost a poll its answer);
        // none fails for auth or is throttled, and most polls give their sample.
        #expect(polls.others.isEmpty, "\(polls.others.prefix(5))")
        #expect(polls.samples + polls.timeouts == polls.polls, "\(polls)")
        #expect(polls.isEnough, "\(polls)")
        #expect(statistics.throttled == 0)
        #expect(statistics.stale >= 20 * 2, "stale nonces renewed in frames: \(statistics.stale)")
        // One authenticated frame per sample: a timed-out poll may leave one served frame
        // without its sample, and the stop may cut off the last tick after the plugs answered.
        #expect(
            (polls.samples...(polls.samples + polls.timeouts + 20)).contains(statistics.allowed),
            "\(statistics.allowed) frames served, \(polls)")
        print("WebSocket, firmware 2, 20 plugs, nonce lifetime 3 s: \(polls),",
            "\(statistics.requests) frames and requests, \(statistics.allowed) authenticated, \(statistics.challenged) challenged,",
            "\(statistics.stale) stale, \(statistics.throttled) throttled")
    }

    @Test("auto falls back to HTTP when the upgrade is refused; websocket alone fails as connect")
    func refusedUpgrade() async throws {
        let simulator = try await ShellySimulator.start(plugs: [.init(node: "old", port: 0, generation: 2, profile: .wyse, password: "pw", fault: .noWebSocket)])
        let auto = PlugSession(plug: Self.plug(simulator, "old", password: "pw"), client: Self.client, logger: Logger(label: "test"))
        let outcomes = await Self.poll(auto, 4)
        #expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "\(outcomes.map(\.result))")
        #expect(!auto.usesWebSocket)
        let strict = PlugSession(plug: Self.plug(simulator, "old", password: "pw", transport: .websocket), client: Self.client, logger: Logger(label: "test"))
        let failed = await strict.poll(timeoutMilliseconds: 5000)
        await simulator.shutdown()
        guard case .failure(let failure) = failed.result else { Issue.record("read without a WebSocket"); return }
        #expect(failure.reason == .connect && failure.message.contains("refused the WebSocket upgrade"), "\(failure)")
    }

    @Test("a silent connection is found within one poll: that sample is lost, auto goes on over HTTP")
    func silentConnection() async throws {
        let simulator = try await ShellySimulator.start(plugs: [.init(node: "mute", port: 0, generation: 2, profile: .wyse, fault: .silentWebSocket)])
        let session = PlugSession(plug: Self.plug(simulator, "mute"), client: Self.client, logger: Logger(label: "test"))
        let outcomes = await Self.poll(session, 4, timeout: 800)
        await simulator.shutdown()
        let reasons = outcomes.map { outcome -> PollErrorReason? in
            if case .failure(let failure) = outcome.result { return failure.reason }
            return nil
        }
        // The first poll detects over HTTP and asks Shelly.GetStatus over the silent socket.
        #expect(reasons.filter { $0 != nil }.count == 1 && reasons.contains(.timeout), "\(reasons)")
        #expect(reasons.suffix(3).allSatisfy { $0 == nil }, "\(reasons)")
        // Every poll ends at its deadline (plus scheduling noise on a loaded machine): the
        // silent connection never answers, so a poll that waited for it would never end.
        #expect(
            outcomes.allSatisfy { $0.durationSeconds <= 0.8 + PlugSessionTests.deadlineMarginSeconds },
            "every poll ends within its timeout: \(outcomes.map(\.durationSeconds))")
    }

    @Test("a device that goes away and comes back: the connection is opened again, with backoff")
    func reconnects() async throws {
        let first = try await ShellySimulator.start(plugs: [.init(node: "flaky", port: 0, generation: 2, profile: .wyse)])
        let port = try #require(first.port(of: "flaky"))
        let session = PlugSession(
            plug: PlugConfiguration(node: "flaky", baseURL: "http://127.0.0.1:\(port)", transport: .websocket), client: Self.client,
            logger: Logger(label: "test"))
        #expect((try? (await session.poll(timeoutMilliseconds: 5000)).result.get()) != nil)
        await first.shutdown()
        let down = await session.poll(timeoutMilliseconds: 1000)
        #expect((try? down.result.get()) == nil, "no device, no sample")
        let second = try await ShellySimulator.start(plugs: [.init(node: "flaky", port: port, generation: 2, profile: .wyse)])
        let back = await eventually(within: .seconds(40), every: .milliseconds(500)) {
            (try? (await session.poll(timeoutMilliseconds: 1000)).result.get()) != nil
        }
        await second.shutdown()
        #expect(back, "reading again after the device returned")
    }
}

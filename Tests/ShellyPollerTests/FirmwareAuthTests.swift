import CurlClient
import EnergyModel
import Foundation
import Logging
import ShellySimulator
import Synchronization
import Testing
import TestSupport

@testable import ShellyPoller

/// The poller against simulated firmware-2.x devices: strict Digest (nonce slots, rising nc,
/// stale nonces, the 429 throttle), credential pinning and the algorithm rule.
@Suite("Firmware 2.x authentication", .serialized)
struct FirmwareAuthTests {
    static let client = CurlMultiClient()

    static func start(_ specifications: [SimulatedPlug.Specification], nonceLifetime: Double = 3600) async throws -> ShellySimulator {
        try await ShellySimulator.start(plugs: specifications, configuration: .init(firmware: 2, nonceLifetime: nonceLifetime))
    }

    static func plug(_ simulator: ShellySimulator, _ node: String, password: String? = "pw", allowMD5: Bool = false) -> PlugConfiguration {
        PlugConfiguration(node: node, baseURL: "http://127.0.0.1:\(simulator.port(of: node) ?? 1)", password: password, allowMD5: allowMD5)
    }

    @Test("20 password-protected Gen2+ plugs at 1 Hz over four nonce lifetimes: no sample lost to auth, never throttled, one request per sample")
    func twentyPlugs() async throws {
        let specifications = (0..<20).map {
            SimulatedPlug.Specification(node: "sim-\($0)", port: 0, generation: 2 + $0 % 3, profile: .wyse, password: "pw")
        }
        let simulator = try await Self.start(specifications, nonceLifetime: 3)
        let loop = PollLoop(
            plugs: specifications.map { Self.plug(simulator, $0.node) }, intervalMilliseconds: 1000, client: Self.client,
            logger: Logger(label: "test"))
        let reports = Mutex<[TickReport]>([])
        let running = Task { await loop.run { report in reports.withLock { $0.append(report) } } }
        // Thirteen ticks (four lifetimes of 3 s), however long a busy machine takes for them.
        _ = await eventually(within: .seconds(120), every: .milliseconds(200)) { reports.withLock { $0.count } >= 13 }
        running.cancel()
        _ = await running.value
        await simulator.shutdown()

        let ticks = reports.withLock { $0 }
        let statistics = simulator.statistics().values.reduce(SimulatedPlug.Statistics(), +)
        let polls = PollAccount(ticks, plugs: 20)
        #expect(ticks.count >= 13, "ticks: \(ticks.count)")
        // Every poll is a sample or a timeout (a loaded machine may cost a poll its answer);
        // none fails for auth or is throttled, and most polls give their sample.
        #expect(polls.others.isEmpty, "\(polls.others.prefix(5))")
        #expect(polls.samples + polls.timeouts == polls.polls, "\(polls)")
        #expect(polls.isEnough, "\(polls)")
        #expect(statistics.throttled == 0)
        #expect(statistics.stale >= 20 * 3, "every plug's nonce went stale at least three times: \(statistics.stale)")
        // Every request is a sample, but for each plug's /shelly, its first challenge and one
        // renewal per stale nonce: one request per sample in the steady state. A timed-out
        // poll may leave one served request without its sample, and the stop may cut off the
        // last tick's polls after the plugs answered them (one tick of 20 plugs).
        #expect(
            (polls.samples...(polls.samples + polls.timeouts + 20)).contains(statistics.allowed),
            "one authenticated request per sample: \(statistics.allowed) served, \(polls)")
        // Each plug's first challenge and one per stale nonce; a loaded machine may add one
        // per plug where a retry's nonce crossed the lifetime boundary on its way, and one per
        // timed-out poll whose challenge came too late.
        #expect(
            (20 + statistics.stale...(20 + statistics.stale + 20 + polls.timeouts)).contains(statistics.challenged),
            "\(statistics.challenged) challenges, \(statistics.stale) stale, \(polls)")
        // Every request is /shelly, a challenge answered with 401, or a served one (a plug
        // that timed out ten times in a row detects again, which adds to /shelly; the stop
        // may cut off up to two ticks of requests before their answer, and a timed-out poll
        // one request whose answer it never read).
        let unexplained = statistics.requests - (statistics.allowed + statistics.challenged + 20)
        #expect(
            (0...(40 + polls.timeouts)).contains(unexplained),
            "requests beyond samples, challenges and /shelly: \(unexplained), \(polls)")
        let allSamples = polls.samples
        let perSample = Double(statistics.requests) / Double(max(1, allSamples))
        let steady = Double(statistics.requests - statistics.stale - 40) / Double(max(1, allSamples))
        print("firmware 2, 20 plugs, nonce lifetime 3 s: \(allSamples) samples and \(polls.timeouts) timed-out polls over \(ticks.count) ticks,",
            "\(statistics.requests) requests (\(String(format: "%.3f", perSample)) per sample with detection and",
            "a renewal every 3 s; \(String(format: "%.3f", steady)) without them), \(statistics.challenged) challenges,",
            "\(statistics.stale) stale, \(statistics.throttled) throttled")
    }

    @Test("the previous client behaviour (libcurl Digest: a fresh nonce for every request) is throttled by the same simulator")
    func previousClientIsThrottled() async throws {
        let simulator = try await Self.start([.init(node: "locked", port: 0, generation: 2, profile: .tvpc, password: "pw")])
        let url = "http://127.0.0.1:\(simulator.port(of: "locked") ?? 1)/rpc/Switch.GetStatus?id=0"
        var statuses: [Int: Int] = [:]
        for _ in 0..<40 {
            let response = try await Self.client.perform(HTTPRequest(url: url, authentication: .digest(username: "admin", password: "pw")))
            statuses[response.status, default: 0] += 1
        }
        let statistics = simulator.statistics()["locked"] ?? .init()
        await simulator.shutdown()
        #expect(statistics.throttled > 0, "\(statistics)")
        #expect(statuses[429, default: 0] > 0, "\(statuses)")
        print("libcurl Digest against firmware 2: 40 polls, answers \(statuses.sorted { $0.key < $1.key }), \(statistics.requests) requests, \(statistics.throttled) throttled")
    }

    @Test("a 429 leaves the plug alone for the throttle window and counts as throttled")
    func throttleBacksOff() async throws {
        let simulator = try await Self.start([.init(node: "locked", port: 0, generation: 2, profile: .tvpc, password: "pw")])
        // Fill the device's nonce slots the way an old client does, until it throttles.
        let url = "http://127.0.0.1:\(simulator.port(of: "locked") ?? 1)/rpc/Switch.GetStatus?id=0"
        for _ in 0..<40 { _ = try await Self.client.perform(HTTPRequest(url: url)) }
        let session = PlugSession(plug: Self.plug(simulator, "locked"), client: Self.client, logger: Logger(label: "test"))
        let first = await session.poll(timeoutMilliseconds: 5000)
        let before = simulator.statistics()["locked"]?.requests ?? 0
        let second = await session.poll(timeoutMilliseconds: 5000)
        let after = simulator.statistics()["locked"]?.requests ?? 0
        await simulator.shutdown()
        #expect((try? first.result.get()) == nil)
        guard case .failure(let failure) = second.result else { Issue.record("polled through a throttle"); return }
        #expect(failure.reason == .throttled, "\(failure)")
        #expect(after == before, "no request while throttled")
    }

    @Test("a plug that later claims another generation never gets its Gen2+ password as Basic auth; refused once in the log")
    func noDowngrade() async throws {
        let simulator = try await Self.start([.init(node: "impostor", port: 0, generation: 2, profile: .tvpc, password: "pw", fault: .downgrade)])
        let log = LogRecorder()
        let session = PlugSession(plug: Self.plug(simulator, "impostor"), client: Self.client, logger: Logger(label: "test") { _ in log })
        var reasons: [PollErrorReason?] = []
        for _ in 0..<30 {
            let outcome = await session.poll(timeoutMilliseconds: 5000)
            if case .failure(let failure) = outcome.result { reasons.append(failure.reason) } else { reasons.append(nil) }
        }
        let statistics = simulator.statistics()["impostor"] ?? .init()
        await simulator.shutdown()
        #expect(reasons.prefix(3).allSatisfy { $0 == nil }, "the first three polls read the genuine plug: \(reasons)")
        #expect(reasons.dropFirst(3).allSatisfy { $0 == .auth }, "\(reasons)")
        #expect(statistics.basicCredentialsReceived == 0)
        let refusals = log.entries.filter { $0.message == "plug refused" }
        #expect(refusals.count == 1, "\(refusals.map(\.metadata))")
        #expect(refusals.first?.metadata["error"]?.contains("Gen1") == true)
        #expect(!log.entries.contains { $0.metadata.values.contains { $0.contains("pw") && $0.contains("admin:") } })
    }

    @Test("a Gen2+ device asking for Digest MD5 is refused (auth, logged once) unless the plug allows it")
    func md5() async throws {
        let simulator = try await Self.start([.init(node: "weak", port: 0, generation: 2, profile: .tvpc, password: "pw", fault: .md5Digest)])
        let log = LogRecorder()
        let refusing = PlugSession(plug: Self.plug(simulator, "weak"), client: Self.client, logger: Logger(label: "test") { _ in log })
        for _ in 0..<3 {
            let outcome = await refusing.poll(timeoutMilliseconds: 5000)
            guard case .failure(let failure) = outcome.result else { Issue.record("MD5 answered"); break }
            #expect(failure.reason == .auth && failure.message.contains("MD5"), "\(failure)")
        }
        #expect(log.entries.filter { $0.message == "plug refused" }.count == 1)
        let allowing = PlugSession(plug: Self.plug(simulator, "weak", allowMD5: true), client: Self.client, logger: Logger(label: "test"))
        let outcome = await allowing.poll(timeoutMilliseconds: 5000)
        await simulator.shutdown()
        #expect((try? outcome.result.get()) != nil, "\(outcome.result)")
    }
}

/// Every poll of a run of ticks, sorted: a sample, a timeout, or another failure.
struct PollAccount: CustomStringConvertible {
    /// Polls in all ticks.
    var polls = 0
    /// Polls that gave a sample.
    var samples = 0
    /// Polls that timed out.
    var timeouts = 0
    /// Polls that failed for another reason.
    var others: [PollFailure] = []

    /// Sorts the polls of `ticks`, which must each hold one outcome per plug.
    init(_ ticks: [TickReport], plugs: Int) {
        self.plugs = plugs
        for tick in ticks {
            polls += plugs
            for outcome in tick.outcomes {
                switch outcome.result {
                case .success:
                    samples += 1
                    plugsSampled.insert(outcome.node)
                case .failure(let failure) where failure.reason == .timeout: timeouts += 1
                case .failure(let failure): others.append(failure)
                }
            }
        }
    }

    /// Plugs that gave at least one sample.
    var plugsSampled = Set<String>()
    /// Plugs polled.
    var plugs = 0

    /// Whether the run read every plug and gave a sample for at least a quarter of the polls:
    /// on a machine busy with two other test processes, a 3 s nonce lifetime makes most polls
    /// renew it, and a poll whose second round trip comes too late is a counted timeout.
    var isEnough: Bool { plugsSampled.count == plugs && samples * 4 >= polls }

    var description: String {
        "\(polls) polls: \(samples) samples (\(plugsSampled.count) of \(plugs) plugs), \(timeouts) timed out, \(others.count) other failures"
    }
}

import CurlClient
import EnergyModel
import Foundation
import Logging
import ShellySimulator
import Testing

@testable import ShellyPoller

/// Polls simulated plugs over real HTTP on loopback.
@Suite("Polling simulated plugs")
struct PlugSessionTests {
    static let client = CurlMultiClient()
    static let logger = Logger(label: "test")

    private func withSimulator(
        _ specifications: [SimulatedPlug.Specification],
        slowDelay: Duration = .milliseconds(1500),
        _ body: (ShellySimulator) async throws -> Void
    ) async throws {
        let simulator = try await ShellySimulator.start(
            plugs: specifications, configuration: .init(slowDelay: slowDelay)
        )
        do {
            try await body(simulator)
        } catch {
            await simulator.shutdown()
            throw error
        }
        await simulator.shutdown()
    }

    private func session(
        _ simulator: ShellySimulator, _ node: String, password: String? = nil, port: Int? = nil, transport: TransportSetting = .auto
    ) -> PlugSession {
        let port = port ?? simulator.port(of: node) ?? 1
        return PlugSession(
            plug: PlugConfiguration(node: node, baseURL: "http://127.0.0.1:\(port)", password: password, transport: transport),
            client: Self.client, logger: Self.logger
        )
    }

    @Test("every generation, with and without auth, yields the served value", arguments: [1, 2, 3, 4])
    func generations(generation: Int) async throws {
        try await withSimulator([
            .init(node: "open", port: 0, generation: generation, profile: .wyse),
            .init(node: "locked", port: 0, generation: generation, profile: .tvpc, password: "pw-\(generation)"),
        ]) { simulator in
            for (node, password) in [("open", nil), ("locked", "pw-\(generation)")] {
                let session = session(simulator, node, password: password)
                for _ in 0..<2 {  // the first poll detects, the second uses the component
                    // Generous: detection takes up to four exchanges, and the verdict is not about time.
                    let outcome = await session.poll(timeoutMilliseconds: 15_000)
                    let sample = try outcome.result.get()
                    let served = try #require(simulator.servedReadings().last { $0.node == node })
                    #expect(sample.reading.watts == served.watts)
                    // The sample's time is the midpoint of the exchange in which the plug served it.
                    let halfExchange = Int64(outcome.durationSeconds * 1000 / 2) + 2
                    #expect(abs(sample.timestampMilliseconds - served.timestampMilliseconds) <= halfExchange)
                    #expect(sample.reading.energyWattHours != nil)
                    #expect((sample.reading.volts != nil) == (generation != 1))
                }
            }
        }
    }

    @Test("wrong or missing credentials are auth failures", arguments: [1, 2])
    func wrongPassword(generation: Int) async throws {
        try await withSimulator([.init(node: "locked", port: 0, generation: generation, profile: .rpi, password: "right")]) { simulator in
            // Generous: detection and the challenge take four exchanges; the verdict is not about time.
            let wrong = await session(simulator, "locked", password: "wrong").poll(timeoutMilliseconds: 15_000)
            #expect(wrong.result.failureReason == .auth)
            let missing = await session(simulator, "locked").poll(timeoutMilliseconds: 15_000)
            #expect(missing.result.failureReason == .auth)
        }
    }

    @Test(
        "faults map to their reasons",
        arguments: [(SimulatedFault.httpError, PollErrorReason.http), (.garbage, .parse), (.slow, .timeout)]
    )
    func faults(fault: SimulatedFault, reason: PollErrorReason) async throws {
        try await withSimulator([.init(node: "bad", port: 0, generation: 2, profile: .rpi, fault: fault)]) { simulator in
            let outcome = await session(simulator, "bad").poll(timeoutMilliseconds: 500)
            #expect(outcome.result.failureReason == reason, "\(outcome.result)")
            // A poll never outlasts its timeout by more than scheduling noise (generous: the
            // whole suite runs in parallel on two cores).
            #expect(outcome.durationSeconds < 3)
        }
    }

    @Test(
        "unbelievable bodies and headers are invalid on both APIs; noise near 0 W reads as 0",
        arguments: [SimulatedFault.hugeBody, .hugeHeaders, .truncated, .nan, .infinite, .absurd, .negative, .negativeNoise], [1, 2]
    )
    func unbelievable(fault: SimulatedFault, generation: Int) async throws {
        try await withSimulator([.init(node: "odd", port: 0, generation: generation, profile: .rpi, fault: fault)]) { simulator in
            // A generous timeout: the verdict must come from the body, even on a busy machine.
            // Headers are an HTTP matter: a WebSocket frame has none.
            let transport: TransportSetting = fault == .hugeHeaders ? .http : .auto
            let outcome = await session(simulator, "odd", transport: transport).poll(timeoutMilliseconds: 10_000)
            if fault == .negativeNoise {
                #expect((try? outcome.result.get())?.reading.watts == 0, "\(outcome.result)")
            } else {
                #expect(outcome.result.failureReason == .invalid, "\(outcome.result)")
            }
        }
    }

    @Test("a closed port is a connect failure")
    func unreachable() async throws {
        // A port that was just listened on and closed again: nothing listens there now.
        let closed = try await ShellySimulator.start(plugs: [.init(node: "x", port: 0, generation: 1, profile: .rpi)])
        let port = try #require(closed.port(of: "x"))
        await closed.shutdown()
        try await withSimulator([.init(node: "gone", port: 0, generation: 1, profile: .rpi, fault: .unreachable)]) { simulator in
            #expect(simulator.port(of: "gone") == nil)
            let outcome = await session(simulator, "gone", port: port).poll(timeoutMilliseconds: 500)
            #expect(outcome.result.failureReason == .connect, "\(outcome.result)")
        }
    }

    @Test("slow and dead plugs cost only their own samples")
    func isolation() async throws {
        var specifications: [SimulatedPlug.Specification] = []
        for index in 0..<40 {
            let fault: SimulatedFault? = index % 8 == 0 ? .slow : (index % 8 == 1 ? .unreachable : nil)
            specifications.append(.init(node: "n\(index)", port: 0, generation: index % 2 == 0 ? 1 : 2, profile: .generic(index: index), fault: fault))
        }
        // A 3 s interval (2.4 s timeout) keeps the healthy plugs' verdict independent of how
        // busy the machine is; the slow plugs answer after 5 s, beyond any timeout.
        try await withSimulator(specifications, slowDelay: .seconds(5)) { simulator in
            let plugs = specifications.map { spec in
                PlugConfiguration(node: spec.node, baseURL: "http://127.0.0.1:\(simulator.port(of: spec.node) ?? 9)")
            }
            let loop = PollLoop(plugs: plugs, intervalMilliseconds: 3000, client: Self.client, logger: Self.logger)
            for _ in 0..<2 {
                let outcomes = await loop.pollAll()
                #expect(outcomes.map(\.node) == plugs.map(\.node))
                for (index, outcome) in outcomes.enumerated() {
                    switch index % 8 {
                    case 0: #expect(outcome.result.failureReason == .timeout)
                    case 1: #expect(outcome.result.failureReason == .connect)
                    default: #expect((try? outcome.result.get()) != nil, "\(outcome.node): \(outcome.result)")
                    }
                }
            }
        }
    }

    @Test("ticks are aligned to wall-clock boundaries")
    func alignment() async throws {
        try await withSimulator([.init(node: "a", port: 0, generation: 2, profile: .rpi)]) { simulator in
            let plug = PlugConfiguration(node: "a", baseURL: "http://127.0.0.1:\(simulator.port(of: "a") ?? 9)")
            let loop = PollLoop(plugs: [plug], intervalMilliseconds: 200, client: Self.client, logger: Self.logger)
            let reports = ReportCollector()
            let task = Task { await loop.run { reports.append($0) } }
            let enough = await Self.wait(seconds: 60) { reports.count >= 5 }
            task.cancel()
            await task.value
            #expect(enough)
            for report in reports.all {
                #expect(report.tickMilliseconds % 200 == 0)
                #expect(report.outcomes.count == 1)
            }
            let ticks = reports.all.map(\.tickMilliseconds)
            #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $1 > $0 })
        }
    }

    static func wait(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}

/// Collects reports from the loop's callback.
final class ReportCollector: @unchecked Sendable {
    // `@unchecked Sendable`: `reports` is only touched under `lock`.
    private let lock = NSLock()
    private var reports: [TickReport] = []

    func append(_ report: TickReport) {
        lock.lock()
        reports.append(report)
        lock.unlock()
    }

    var all: [TickReport] {
        lock.lock()
        defer { lock.unlock() }
        return reports
    }

    var count: Int { all.count }
}

extension Result where Failure == PollFailure {
    /// The failure reason, or nil for a sample.
    var failureReason: PollErrorReason? {
        if case .failure(let failure) = self { return failure.reason }
        return nil
    }
}

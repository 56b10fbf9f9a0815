import CurlClient
import EnergyModel
import Foundation
import Logging
import ShellySimulator
import Synchronization
import Testing
import TestSupport

@testable import ShellyPoller

/// Polls simulated plugs over real HTTP on loopback.
@Suite("Polling simulated plugs")
struct PlugSessionTests {
    static let client = CurlMultiClient()
    static let logger = Logger(label: "test")
    /// How long a `slow` plug takes to answer in the timeout tests: a minute, far beyond any
    /// poll's deadline, so that a poll which waited for the answer is unmistakable.
    static let slowAnswer: Duration = .seconds(60)
    /// How late after its deadline a poll may end: scheduling noise on a machine busy with the
    /// rest of the suite, and still a twelfth of the slow plug's delay.
    static let deadlineMarginSeconds = 5.0

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
        "faults map to their reasons; a poll ends at its deadline, not when a slow answer comes",
        arguments: [(SimulatedFault.httpError, PollErrorReason.http), (.garbage, .parse), (.slow, .timeout)]
    )
    func faults(fault: SimulatedFault, reason: PollErrorReason) async throws {
        let fault = [SimulatedPlug.Specification(node: "bad", port: 0, generation: 2, profile: .rpi, fault: fault)]
        try await withSimulator(fault, slowDelay: Self.slowAnswer) { simulator in
            let outcome = await session(simulator, "bad").poll(timeoutMilliseconds: 500)
            #expect(outcome.result.failureReason == reason, "\(outcome.result)")
            // The slow plug answers a minute later: a poll that waited for it fails here.
            #expect(outcome.durationSeconds <= 0.5 + Self.deadlineMarginSeconds, "poll took \(outcome.durationSeconds) s")
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
        // A port held without listening: nothing answers there, and no other test can take it.
        let closed = try HeldPort()
        defer { closed.release() }
        try await withSimulator([.init(node: "gone", port: 0, generation: 1, profile: .rpi, fault: .unreachable)]) { simulator in
            #expect(simulator.port(of: "gone") == nil)
            let outcome = await session(simulator, "gone", port: closed.port).poll(timeoutMilliseconds: 500)
            #expect(outcome.result.failureReason == .connect, "\(outcome.result)")
        }
    }

    @Test("a reading is dated by its exchange, not by when the poll's task runs again")
    func datedByTheExchange() async throws {
        // The plug reads its value when the request comes and answers half a second later;
        // the poll's task then waits two seconds more before it runs again, as on a machine
        // whose threads are all taken. Only the poll's own executor is slow: nothing else waits.
        try await withSimulator([.init(node: "late", port: 0, generation: 1, profile: .rpi, fault: .slow)], slowDelay: .milliseconds(500)) { simulator in
            let executor = DelayingExecutor(delay: .seconds(2))
            let plug = PlugConfiguration(node: "late", baseURL: "http://127.0.0.1:\(simulator.port(of: "late") ?? 1)", generation: .gen1)
            let session = PlugSession(plug: plug, client: Self.client, logger: Self.logger)
            let outcome = await Task(executorPreference: executor) { await session.poll(timeoutMilliseconds: 15_000) }.value
            let sample = try outcome.result.get()
            let served = try #require(simulator.servedReadings().first { $0.node == "late" })
            // The task was held (the poll took the answer's half second and the two after it)...
            #expect(outcome.durationSeconds >= 2.5, "poll took \(outcome.durationSeconds) s")
            // ...but the exchange itself lasted the plug's half second: its midpoint is about a
            // quarter of a second after the plug read the value, not more than a second.
            let skew = sample.timestampMilliseconds - served.timestampMilliseconds
            #expect((0...750).contains(skew), "sample dated \(skew) ms after the plug read it")
        }
    }

    @Test("slow and dead plugs cost only their own samples")
    func isolation() async throws {
        var specifications: [SimulatedPlug.Specification] = []
        for index in 0..<40 {
            let fault: SimulatedFault? = index % 8 == 0 ? .slow : (index % 8 == 1 ? .unreachable : nil)
            specifications.append(.init(node: "n\(index)", port: 0, generation: index % 2 == 0 ? 1 : 2, profile: .generic(index: index), fault: fault))
        }
        // The dead plugs' address: a port held without listening (refused at once).
        let dead = try HeldPort()
        defer { dead.release() }
        // A 10 s interval (8 s timeout) keeps the healthy plugs' verdict independent of how
        // busy the machine is (40 plugs polled at once by a debug build beside other test
        // processes); the slow plugs answer after a minute, beyond any timeout.
        try await withSimulator(specifications, slowDelay: Self.slowAnswer) { simulator in
            let plugs = specifications.map { spec in
                PlugConfiguration(node: spec.node, baseURL: "http://127.0.0.1:\(simulator.port(of: spec.node) ?? dead.port)")
            }
            let loop = PollLoop(plugs: plugs, intervalMilliseconds: 10_000, client: Self.client, logger: Self.logger)
            for _ in 0..<2 {
                let outcomes = await loop.pollAll()
                #expect(outcomes.map(\.node) == plugs.map(\.node))
                for (index, outcome) in outcomes.enumerated() {
                    switch index % 8 {
                    case 0:
                        #expect(outcome.result.failureReason == .timeout)
                        #expect(outcome.durationSeconds <= 8 + Self.deadlineMarginSeconds, "\(outcome.node): \(outcome.durationSeconds) s")
                    case 1: #expect(outcome.result.failureReason == .connect, "\(outcome.node): \(outcome.result)")
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
            // On threads of its own, as the service runs it: the test process runs other suites
            // at once on the cooperative pool.
            let executor = PollExecutor(threads: 1)
            defer { executor.shutdown() }
            let loop = PollLoop(
                plugs: [plug], intervalMilliseconds: 200, client: Self.client, executor: executor, logger: Self.logger)
            let reports = ReportCollector()
            let task = Task(executorPreference: executor) { await loop.run { reports.append($0) } }
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

/// An executor on a thread of its own that runs a task's first job at once and every later
/// one `delay` after it was enqueued: the task's resumptions come late, as on a machine
/// whose threads are all taken, while the rest of the process is not slowed down.
final class DelayingExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "delaying-executor")
    private let jobs = Mutex(0)
    private let delay: Duration

    init(delay: Duration) { self.delay = delay }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let due = jobs.withLock { count in
            defer { count += 1 }
            return count == 0 ? ContinuousClock.now : ContinuousClock.now + delay
        }
        queue.async {
            // Slept in steps: a signal (a child process of another test ending) cuts one short.
            while ContinuousClock.now < due { usleep(10_000) }
            job.runSynchronously(on: executor)
        }
    }
}

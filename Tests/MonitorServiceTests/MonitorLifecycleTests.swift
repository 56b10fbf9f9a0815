import EnergyModel
import Exposition
import Foundation
import Logging
import ShellyPoller
import ShellySimulator
import Synchronization
import TestSupport
import UserInput
import Testing

@testable import MonitorService

/// A consumer that holds the first tick until `release` says so, and keeps every tick.
final class StallingConsumer: TickConsumer {
    let ticks = Mutex<[Tick]>([])
    /// When the first tick was let go, unix milliseconds.
    let releasedAt = Mutex<Int64?>(nil)
    private let release: @Sendable () async -> Void

    init(release: @escaping @Sendable () async -> Void) {
        self.release = release
    }

    func consume(_ tick: Tick) async {
        let first = ticks.withLock { ticks -> Bool in
            ticks.append(tick)
            return ticks.count == 1
        }
        if first {
            await release()
            releasedAt.withLock { $0 = WallClock.nowMilliseconds() }
        }
    }
}

/// The monitor's one lifecycle: nothing happens before `run()`, the store is opened there and
/// closed on the way out, and the queue of ticks in front of the consumers is bounded.
@Suite("Monitor lifecycle", .serialized)
struct MonitorLifecycleTests {
    static func configuration(
        folder: TemporaryDirectory, simulator: ShellySimulator, port: Int, interval: Int64
    )
        -> MonitorConfiguration
    {
        var configuration = MonitorConfiguration()
        configuration.intervalMilliseconds = interval
        configuration.database = folder.path("energy.db")
        configuration.listen = ListenAddress(host: "127.0.0.1", port: port)
        configuration.plugs = ["wyse", "rpi"].map {
            PlugConfiguration(node: $0, baseURL: "http://127.0.0.1:\(simulator.port(of: $0) ?? 0)")
        }
        return configuration
    }

    static var quiet: Logger {
        var logger = Logger(label: "lifecycle")
        logger.logLevel = .critical
        return logger
    }

    @Test(
        "creating a monitor opens nothing; run() opens the store, and closes it and the listener on the way out"
    )
    func storeOpenedInRun() async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "wyse", port: 0, generation: 3, profile: .wyse),
            .init(node: "rpi", port: 0, generation: 1, profile: .rpi),
        ])
        defer { Task { await simulator.shutdown() } }
        let folder = try TemporaryDirectory("lifecycle")
        let port = TestEnvironment.freePorts(1)
        // A 1 s interval (800 ms per poll) and a minute to get ready: the monitor runs in this
        // process, beside the other suites, and what is judged is when the store is open.
        let configuration = Self.configuration(
            folder: folder, simulator: simulator, port: port, interval: 1000)
        try configuration.validate()
        let monitor = Monitor(configuration: configuration, logger: Self.quiet)
        #expect(
            !FileManager.default.fileExists(atPath: configuration.database),
            "the store is opened before run()")

        let running = Task { try await ServiceRunner.run([monitor], signals: [], logger: Self.quiet) }
        let ready = await eventually(within: .seconds(180), every: .milliseconds(100)) {
            await TestEnvironment.get("http://127.0.0.1:\(port)/readyz")?.status == 200
        }
        #expect(ready, "the monitor never became ready")
        #expect(FileManager.default.fileExists(atPath: configuration.database))
        #expect(
            FileManager.default.fileExists(atPath: configuration.database + "-wal"),
            "the store is not open")
        running.cancel()
        try await running.value

        // The last connection's close checkpoints the WAL and removes it; the port is free.
        #expect(
            !FileManager.default.fileExists(atPath: configuration.database + "-wal"),
            "the store was left open")
        #expect(
            await TestEnvironment.get("http://127.0.0.1:\(port)/healthz") == nil,
            "the HTTP server still answers")
    }

    @Test("a store that cannot open fails run() with its reason, and nothing is left listening")
    func failedStart() async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "wyse", port: 0, generation: 3, profile: .wyse),
            .init(node: "rpi", port: 0, generation: 1, profile: .rpi),
        ])
        defer { Task { await simulator.shutdown() } }
        let folder = try TemporaryDirectory("lifecycle-fail")
        let port = TestEnvironment.freePorts(1)
        var configuration = Self.configuration(
            folder: folder, simulator: simulator, port: port, interval: 500)
        configuration.database = folder.path("missing/folder/energy.db")
        let monitor = Monitor(configuration: configuration, logger: Self.quiet)
        await #expect(throws: (any Error).self) {
            try await withTimeout(.seconds(30), "the failed start") {
                try await ServiceRunner.run([monitor], signals: [], logger: Self.quiet)
            }
        }
        #expect(TestEnvironment.isFree(port))
    }

    @Test(
        "a consumer that stalls makes the oldest waiting ticks go, counted as dropped samples, not memory grow"
    )
    func boundedTickQueue() async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "wyse", port: 0, generation: 3, profile: .wyse),
            .init(node: "rpi", port: 0, generation: 1, profile: .rpi),
        ])
        defer { Task { await simulator.shutdown() } }
        let folder = try TemporaryDirectory("lifecycle-queue")
        let port = TestEnvironment.freePorts(1)
        let configuration = Self.configuration(
            folder: folder, simulator: simulator, port: port, interval: 100)
        let dropped = "energy_monitor_samples_dropped_total"
        // The first tick is held until the monitor has counted dropped samples: with an
        // unbounded queue that never happens and the wait fails.
        let sawDrops = Mutex(false)
        let consumer = StallingConsumer {
            let counted = await eventually(within: .seconds(120), every: .milliseconds(200)) {
                (ExpositionReader(await TestEnvironment.getText("http://127.0.0.1:\(port)/metrics")).value(
                    dropped) ?? 0) > 0
            }
            sawDrops.withLock { $0 = counted }
        }
        let monitor = Monitor(configuration: configuration, logger: Self.quiet, consumers: [consumer])
        let running = Task { try await ServiceRunner.run([monitor], signals: [], logger: Self.quiet) }
        let released = await eventually(within: .seconds(150), every: .milliseconds(200)) {
            consumer.ticks.withLock { $0.count } > 1
        }
        running.cancel()
        try await running.value
        #expect(released)
        #expect(
            sawDrops.withLock { $0 }, "no samples were counted as dropped while the consumer stalled")
        let ticks = consumer.ticks.withLock { $0 }
        let releasedAt = try #require(consumer.releasedAt.withLock { $0 })
        // After the stall, at most the queue's limit of ticks taken during it were still handed
        // on (one more may have been on its way in); the ones before them were dropped.
        let waited = ticks.dropFirst().filter { $0.tickMilliseconds < releasedAt }
        #expect(!waited.isEmpty)
        #expect(
            waited.count <= Monitor.tickQueueLimit + 1, "\(waited.count) ticks waited through the stall")
        if let next = waited.first {
            #expect((next.tickMilliseconds - ticks[0].tickMilliseconds) / 100 > 1, "no tick was dropped")
        }
    }
}

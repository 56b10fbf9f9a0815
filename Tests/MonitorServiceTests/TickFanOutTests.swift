import EnergyModel
import Exposition
import Foundation
import Logging
import ShellyPoller
import ShellySimulator
import Store
import Synchronization
import Testing
import TestSupport

@testable import MonitorService

/// A consumer that keeps what it is handed.
final class RecordingConsumer: TickConsumer {
    let ticks = Mutex<[Tick]>([])

    func consume(_ tick: Tick) async {
        ticks.withLock { $0.append(tick) }
    }
}

/// The monitor hands every tick to its consumers in order, after its own (metrics, plug
/// status log, store), with the counters already advanced.
@Suite("Tick fan-out", .serialized)
struct TickFanOutTests {
    @Test("every tick reaches an added consumer after it is stored, with samples, failures and counters")
    func fanOut() async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "wyse", port: 0, generation: 3, profile: .wyse),
            .init(node: "rpi", port: 0, generation: 1, profile: .rpi),
        ])
        let folder = try TemporaryDirectory("fan-out")
        // The dead plug's address: a port held without listening, so that nothing answers
        // there for the whole test (a port merely found free could be taken meanwhile).
        let dead = try HeldPort()
        defer { dead.release() }
        let yaml = """
            interval: 500ms
            database: energy.db
            listen: 127.0.0.1:\(TestEnvironment.freePorts(1))
            plugs:
              - { node: wyse, address: "127.0.0.1:\(simulator.port(of: "wyse") ?? 0)" }
              - { node: rpi, address: "127.0.0.1:\(simulator.port(of: "rpi") ?? 0)" }
              - { node: dead, address: "127.0.0.1:\(dead.port)" }
            """
        let configuration = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: folder.path)
        var logger = Logger(label: "fan-out")
        logger.logLevel = .critical
        let recorder = RecordingConsumer()
        let monitor = Monitor(configuration: configuration, logger: logger, consumers: [recorder])
        // Twenty tick boundaries: on a fully loaded machine some are skipped, four always remain.
        try await ServiceRunner.run([monitor], for: .seconds(10), signals: [], logger: logger)
        await simulator.shutdown()

        let ticks = recorder.ticks.withLock { $0 }
        #expect(ticks.count >= 4, "ticks seen: \(ticks.count)")
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0.tickMilliseconds < $1.tickMilliseconds })
        #expect(ticks.allSatisfy { $0.report.outcomes.count == 3 })
        // Every tick carries, for each live plug, its sample or a timeout (a loaded machine may
        // cost a poll its answer), never nothing and never another reason; the dead plug is
        // refused every time.
        let metrics = ExpositionReader(String(decoding: try #require(monitor.metrics).render(), as: UTF8.self))
        for node in ["wyse", "rpi"] {
            let timeouts = ticks.filter { $0.failures[node]?.reason == .timeout }.count
            for tick in ticks {
                let sampled = tick.samples.contains { $0.node == node }
                #expect(
                    sampled != (tick.failures[node] != nil) && (sampled || tick.failures[node]?.reason == .timeout),
                    "\(node) at \(tick.tickMilliseconds): \(tick.failures[node].map { "\($0)" } ?? "sample")")
            }
            #expect(ticks.contains { tick in tick.samples.contains { $0.node == node } }, "\(node): no sample at all")
            // Each timeout was counted as one.
            #expect(
                metrics.value("energy_monitor_poll_errors_total{node=\"\(node)\",reason=\"timeout\"}") == Double(timeouts),
                "\(node): \(timeouts) timeouts in \(ticks.count) ticks")
            print("fan-out: \(node) timed out in \(timeouts) of \(ticks.count) ticks")
        }
        #expect(ticks.allSatisfy { $0.samples.allSatisfy { $0.node != "dead" } && $0.failures["dead"]?.reason == .connect })
        #expect(
            metrics.value("energy_monitor_poll_errors_total{node=\"dead\",reason=\"connect\"}") == Double(ticks.count))
        // The counters carried on are those after the tick's own samples.
        if let last = ticks.last, let sample = last.samples.first(where: { $0.node == "wyse" }) {
            #expect(last.counters["wyse"]?.lastTimestampMilliseconds == sample.timestampMilliseconds)
        }
        // Consumers run after the store: every sample they saw was committed.
        let store = try EnergyStore(path: folder.path("energy.db"))
        for node in ["wyse", "rpi"] {
            let seen = ticks.flatMap(\.samples).filter { $0.node == node }.map(\.timestampMilliseconds)
            let stored = try await store.samples(node: node, fromMilliseconds: 0, toMilliseconds: .max).map(\.timestampMilliseconds)
            #expect(stored == seen, "\(node)")
        }
        store.close()
    }

    @Test("a plug's reboot (its uptime going back) is logged once")
    func rebootLogged() async {
        let log = LogRecorder()
        let consumer = DeviceRebootLog(logger: Logger(label: "test") { _ in log })
        func tick(_ uptime: Double?) -> Tick {
            let outcome = PlugOutcome(
                node: "wyse", result: .failure(PollFailure(.timeout, "x")), durationSeconds: 0,
                health: uptime.map { DeviceHealth(uptimeSeconds: $0) })
            let report = TickReport(tickMilliseconds: 0, startLatencyMilliseconds: 0, skippedTicks: 0, outcomes: [outcome])
            return Tick(report: report, samples: [], failures: [:], counters: [:])
        }
        for uptime in [100, nil, 160, 220, 5, nil, 65, 125] as [Double?] { await consumer.consume(tick(uptime)) }
        let reboots = log.entries.filter { $0.message == "plug rebooted" }
        #expect(reboots.count == 1)
        #expect(reboots.first?.metadata["uptimeBefore"] == "220.0" && reboots.first?.metadata["uptime"] == "5.0")
    }
}

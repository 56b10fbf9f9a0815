import EnergyModel
import Exposition
import Foundation
import TestSupport
import Testing

/// Steps of the wall clock (only `CLOCK_REALTIME`, as an NTP step moves it), made by a shim
/// loaded into the real binary: the energy counter neither freezes nor jumps, no second of a
/// node is stored twice and no minute packed twice, and samples stamped by a clock that was
/// ahead are forgotten at the next start rather than blocking the store for a day.
@Suite("Wall-clock steps", .serialized)
struct ClockStepTests {
    /// `simulate` and `run` in `folder`, `run` on the shim's clock; the plugs' clock is real.
    struct Service {
        var simulator: ChildProcess
        var monitor: ChildProcess
        let base: String
        let folder: String
        let shim: WallClockShim

        static func start(_ folder: String) async throws -> Service {
            let shim = try await WallClockShim(folder: folder)
            let port = TestEnvironment.freePorts(2)
            let listen = TestEnvironment.freePorts(1)
            let simulator = try ChildProcess(
                TestPaths.binary,
                [
                    "simulate", "--plugs", "2", "--port", "\(port)", "--generations", "1,2", "--write-config",
                    folder + "/config.yaml", "--database", folder + "/energy.db", "--listen", "127.0.0.1:\(listen)",
                    "--record", folder + "/served.csv",
                ], in: folder, name: "simulate")
            let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
            try #require(written, "simulator: \(simulator.stderr)")
            var service = Service(
                simulator: simulator, monitor: simulator, base: "http://127.0.0.1:\(listen)", folder: folder,
                shim: shim)
            try await service.startMonitor(name: "run")
            return service
        }

        mutating func startMonitor(name: String) async throws {
            monitor = try ChildProcess(
                TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: name,
                environment: shim.environment)
            let base = self.base
            let ready = await eventually(within: .seconds(30)) {
                await TestEnvironment.get(base + "/readyz")?.status == 200
            }
            try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
        }

        func metrics() async -> ExpositionReader {
            ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
        }

        func energy(_ metrics: ExpositionReader) -> Double {
            (metrics.value("energy_monitor_energy_joules_total{node=\"sim-0\"}") ?? 0)
                + (metrics.value("energy_monitor_energy_joules_total{node=\"sim-1\"}") ?? 0)
        }

        /// The exact joules the plugs served between two real times (unix seconds): the
        /// trapezoids between the recorded readings, each node on its own.
        func servedJoules(from: Double, to: Double) throws -> Double {
            let text = try String(contentsOfFile: folder + "/served.csv", encoding: .utf8)
            var readings: [String: [(Double, Double)]] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ",")
                guard parts.count == 3, let ms = Double(parts[1]), let watts = Double(parts[2]) else { continue }
                readings[String(parts[0]), default: []].append((ms / 1000, watts))
            }
            var joules = 0.0
            for (_, series) in readings {
                let sorted = series.sorted { $0.0 < $1.0 }
                for (a, b) in zip(sorted, sorted.dropFirst()) where a.0 >= from && b.0 <= to {
                    joules += (a.1 + b.1) / 2 * (b.0 - a.0)
                }
            }
            return joules
        }

        func rows(_ query: String) async throws -> [[String]] {
            try await sqliteRows(folder + "/energy.db", query)
        }
    }

    /// Every (node, second) stored once, and at most one chunk per node and minute.
    static func expectNoDuplicates(_ service: Service) async throws {
        let duplicates = try await service.rows("SELECT count(*) - count(DISTINCT node || '@' || ts) FROM power")
        #expect(duplicates.first?.first == "0", "duplicate rows: \(duplicates)")
        let split = try await service.rows(
            "SELECT count(*) FROM (SELECT node_id, start_ms / 60000 AS m FROM chunk GROUP BY 1, 2 HAVING count(*) > 1)")
        #expect(split.first?.first == "0", "minutes stored as several chunks: \(split)")
    }

    @Test("120 s back while running: the counter keeps rising at the plugs' power, no row twice, no minute split")
    func backward() async throws {
        let folder = try TestEnvironment.makeFolder("clock-back")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let service = try await Service.start(folder)
        defer {
            service.monitor.end()
            service.simulator.end()
        }
        try await Task.sleep(for: .seconds(3))
        // Each scrape between two readings of the clock: it saw the counter somewhere between.
        let beforeStart = Date().timeIntervalSince1970
        let before = await service.metrics()
        let start = Date().timeIntervalSince1970
        try service.shim.set(offsetSeconds: -120)
        try await Task.sleep(for: .seconds(8))
        let end = Date().timeIntervalSince1970
        let after = await service.metrics()
        let afterEnd = Date().timeIntervalSince1970
        let counted = service.energy(after) - service.energy(before)
        // The served readings of the window between the scrapes, a second less at each end
        // (the counter stands at the last sample): the counter added at least that much.
        let served = try service.servedJoules(from: start + 1, to: end - 1)
        print(String(format: "clock 120 s back: %.1f J counted, %.1f J served in the inner window", counted, served))
        #expect(served > 0)
        #expect(counted >= served * 0.95, "the counter stalled: \(counted) J counted, \(served) J served")
        // ...and at most what was served a second beyond each end: no hour of power added.
        let outer = try service.servedJoules(from: beforeStart - 1.5, to: afterEnd + 1.5)
        #expect(counted <= outer * 1.05, "the counter jumped: \(counted) J counted, \(outer) J served around it")
        #expect((after.value("energy_monitor_clock_steps_total{direction=\"backward\"}") ?? 0) >= 1)
        #expect(after.value("energy_monitor_ticks_skipped_total") == 0)
        try service.shim.set(offsetSeconds: 0)
        try await Task.sleep(for: .seconds(3))
        service.monitor.stop()
        try await Self.expectNoDuplicates(service)
    }

    @Test(
        "a day ahead for a few seconds, then a restart with the right clock: the samples of tomorrow are forgotten, the counter rises at once, packing goes on"
    )
    func aheadThenRestart() async throws {
        let folder = try TestEnvironment.makeFolder("clock-ahead")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var service = try await Service.start(folder)
        defer {
            service.monitor.end()
            service.simulator.end()
        }
        let start = Date().timeIntervalSince1970
        let before = await service.metrics()
        try service.shim.set(offsetSeconds: 86_400)
        let ahead = await eventually(within: .seconds(30), every: .milliseconds(500)) {
            let rows = try? await service.rows("SELECT count(*) FROM power WHERE ts > unixepoch('now') + 3600")
            return Int(rows?.first?.first ?? "0") ?? 0 >= 6
        }
        #expect(ahead, "no samples stored a day ahead")
        let steps = await service.metrics()
        let end = Date().timeIntervalSince1970
        // A day ahead added the power of those seconds, not of a day.
        let counted = service.energy(steps) - service.energy(before)
        let served = try service.servedJoules(from: start - 1.5, to: end + 1.5)
        #expect(counted <= served * 1.05, "the counter jumped: \(counted) J counted, \(served) J served")
        #expect((steps.value("energy_monitor_clock_steps_total{direction=\"forward\"}") ?? 0) >= 1)
        #expect(steps.value("energy_monitor_ticks_skipped_total") == 0, "a step forward is not missed ticks")
        #expect(service.monitor.stop() == 0)

        try service.shim.set(offsetSeconds: 0)
        try await service.startMonitor(name: "run2")
        #expect(service.monitor.stderr.contains("stamped ahead of the clock"), "\(service.monitor.stderr.suffix(800))")
        let first = await service.metrics()
        try await Task.sleep(for: .seconds(4))
        let second = await service.metrics()
        #expect(service.energy(second) > service.energy(first), "the counter is frozen after the restart")
        let future = try await service.rows("SELECT count(*) FROM power WHERE ts > unixepoch('now') + 60")
        #expect(future.first?.first == "0", "samples of tomorrow are still stored: \(future)")
        let packedMark = try await service.rows("SELECT value FROM meta WHERE key = 'packed_until_ms'")
        let packed = Double(packedMark.first?.first ?? "0") ?? 0
        #expect(packed <= Date().timeIntervalSince1970 * 1000 + 60_000, "the packing mark holds tomorrow: \(packed)")
        let recent = try await service.rows("SELECT count(*) FROM power WHERE ts > unixepoch('now') - 10")
        #expect(Int(recent.first?.first ?? "0") ?? 0 >= 4, "no new samples stored after the restart")
        service.monitor.stop()
        try await Self.expectNoDuplicates(service)
    }
}

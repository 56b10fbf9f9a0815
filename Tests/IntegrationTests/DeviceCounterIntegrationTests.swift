import EnergyModel
import Exposition
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Plugs that lie about their own energy counter, against the real binary: a counter of
/// 1e308, a one-tick jump of 10^9 Wh, a fall to 0 without a reboot, and real reboots with the
/// uptime reset. Nothing unbelievable reaches `/metrics` or the store, and a store that holds
/// infinite counters from before is repaired at start.
@Suite("Device counters end to end", .serialized)
struct DeviceCounterIntegrationTests {
    /// `name{node="n"}` for every node.
    static func series(_ name: String, _ nodes: Int) -> [String] {
        (0..<nodes).map { "\(name){node=\"sim-\($0)\"}" }
    }

    /// Every joule counter of `/metrics`, which must all be finite numbers.
    static func joules(_ metrics: ExpositionReader) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in metrics.lines
        where line.hasPrefix("energy_monitor_device_energy_joules_total")
            || line.hasPrefix("energy_monitor_energy_joules_total")
        {
            let parts = line.split(separator: " ")
            if parts.count == 2 { values[String(parts[0])] = Double(parts[1]) ?? .nan }
        }
        return values
    }

    @Test(
        "lying counters are refused and counted once in the log; /metrics and the store stay finite, monotone and honest across a restart"
    )
    func lyingCounters() async throws {
        let folder = try TestEnvironment.makeFolder("device-counters")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Even plugs speak Gen1 (uptime in every status), odd ones Gen2 (uptime asked for at
        // once when the counter falls); the last one is honest.
        let faults = [
            "counter-overflow", "counter-overflow", "counter-jump", "counter-jump", "counter-drop", "counter-drop",
            "reboot", "reboot",
        ]
        let plugs = faults.count + 1
        let database = folder + "/energy.db"
        var service = try await FaultIntegrationTests.start(
            folder, plugs: plugs, database: database,
            extra: ["--generations", "1,2"] + faults.enumerated().flatMap { ["--fault", "\($0.offset)=\($0.element)"] })
        defer { service.stop() }
        var history: [String: [Double]] = [:]
        var last = ExpositionReader("")
        func scrape(for seconds: Int) async {
            for _ in 0..<(seconds * 2) {
                last = ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
                for (name, value) in Self.joules(last) { history[name, default: []].append(value) }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        func refusals(_ node: Int, _ reason: String) -> Double {
            last.value("energy_monitor_device_energy_refusals_total{node=\"sim-\(node)\",reason=\"\(reason)\"}") ?? -1
        }
        // Long enough for every lie at least twice and a reboot of both rebooting plugs.
        await scrape(for: 24)
        for (index, fault) in faults.enumerated() {
            let reason = ["counter-overflow": "invalid", "counter-jump": "jump", "counter-drop": "decrease"][fault]
            if let reason {
                let log = service.monitor.stderr.suffix(1500)
                #expect(
                    refusals(index, reason) >= 2,
                    "sim-\(index) (\(fault)): \(refusals(index, reason)) refusals; log: \(log)")
            } else {
                // A real reboot is told by the uptime: nothing refused.
                for reason in ["invalid", "jump", "decrease"] {
                    #expect(
                        refusals(index, reason) == 0,
                        "sim-\(index) (reboot): \(refusals(index, reason)) refused as \(reason)")
                }
            }
        }
        for reason in ["invalid", "jump", "decrease"] {
            #expect(refusals(faults.count, reason) == 0, "honest plug refused as \(reason)")
        }
        // Logged once per node and kind, however often it lies.
        let stderr = service.monitor.stderr
        for index in 0..<6 {
            let lines = stderr.split(separator: "\n").filter {
                $0.contains("device counter refused") && $0.contains("node=sim-\(index) ")
            }
            #expect(lines.count == 1, "sim-\(index): \(lines.count) log lines")
        }
        // Finite, monotone, and honest: the device counter rose by what the integrated power did.
        for node in 0..<plugs {
            let device = history["energy_monitor_device_energy_joules_total{node=\"sim-\(node)\"}"] ?? []
            let integrated = history["energy_monitor_energy_joules_total{node=\"sim-\(node)\"}"] ?? []
            #expect(device.count >= 30 && device.allSatisfy(\.isFinite), "sim-\(node): \(device.suffix(5))")
            for (a, b) in zip(device, device.dropFirst()) { #expect(b >= a, "sim-\(node) went back from \(a) to \(b)") }
            let deviceGrowth = (device.last ?? 0) - (device.first ?? 0)
            let integratedGrowth = (integrated.last ?? 0) - (integrated.first ?? 0)
            #expect(integratedGrowth > 0)
            let kind = node < faults.count ? faults[node] : "honest"
            #expect(
                abs(deviceGrowth - integratedGrowth) <= 0.25 * integratedGrowth + 200,
                "sim-\(node) (\(kind)): device +\(deviceGrowth) J, integrated +\(integratedGrowth) J"
            )
        }
        _ = service.monitor.stop()

        // The store: counters finite; no per-sample counter clamped, none a false 0.
        let sqlite3 = try #require(Tools.find("sqlite3"))
        let nodes = try await runProcess(
            sqlite3,
            [database, "SELECT name, device_joules, typeof(device_joules), last_device_wh FROM node ORDER BY name"])
        for line in nodes.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            #expect(
                parts.count == 4 && parts[2] == "real" && (Double(parts[1]).map { $0.isFinite && $0 < 1e12 } ?? false),
                "node row \(line)")
        }
        for (index, fault) in faults.enumerated() where fault.hasPrefix("counter-") {
            let rows = try await runProcess(
                sqlite3,
                [
                    database,
                    "SELECT count(*), count(device_mwh), coalesce(max(device_mwh), 0), "
                        + "count(CASE WHEN device_mwh = 0 THEN 1 END) "
                        + "FROM readings JOIN node ON node.id = readings.node_id WHERE node.name = 'sim-\(index)'",
                ])
            let figures = rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").compactMap {
                Double($0)
            }
            try #require(figures.count == 4, "\(rows.stdout) \(rows.stderr)")
            #expect(figures[0] > figures[1], "sim-\(index) (\(fault)): refused counters stored as NULL: \(figures)")
            #expect(figures[2] < 1e10, "sim-\(index) (\(fault)): a stored counter of \(figures[2]) mWh")
            #expect(figures[3] == 0, "sim-\(index) (\(fault)): \(figures[3]) samples with a false 0")
        }
        let before = history.mapValues { $0.last ?? 0 }

        // Restart with honest plugs on the same addresses (their counters now differ from the
        // stored ones, as a swapped plug's would): the counters go on from the store, finite.
        service.simulator.stop()
        let port = try #require(
            try String(contentsOfFile: folder + "/config.yaml", encoding: .utf8).split(separator: "\n")
                .first { $0.contains("address:") }?.split(separator: ":").last.flatMap {
                    Int($0.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")))
                })
        service.simulator = try ChildProcess(
            TestPaths.binary, ["simulate", "--plugs", "\(plugs)", "--port", "\(port)", "--generations", "1,2"],
            in: folder, name: "simulate2")
        _ = await eventually(within: .seconds(30)) { service.simulator.stdout.contains("simulating") }
        service.monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run2")
        let ready = await eventually(within: .seconds(30)) {
            await TestEnvironment.get(service.base + "/readyz")?.status == 200
        }
        try #require(ready, "not ready after the restart: \(service.monitor.stderr.suffix(1500))")
        history = [:]
        await scrape(for: 16)
        for (name, values) in history {
            let finite = values.allSatisfy { $0.isFinite }
            #expect(finite, "\(name) after the restart: \(Array(values.suffix(3)))")
            #expect((values.first ?? 0) >= (before[name] ?? 0), "\(name) restarted below its stored value")
            for (a, b) in zip(values, values.dropFirst()) {
                #expect(b >= a, "\(name) went back from \(a) to \(b) after the restart")
            }
        }
        let rebased = await eventually(within: .seconds(30)) {
            service.monitor.stderr.contains("device counter has a new baseline")
        }
        #expect(rebased, "log: \(service.monitor.stderr.suffix(1500))")
    }

    @Test(
        "infinite and NaN counters written into the store with the sqlite3 shell are repaired at start, logged and counted once"
    )
    func repairedAtStart() async throws {
        let folder = try TestEnvironment.makeFolder("device-counters-repair")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        var service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: database, extra: ["--generations", "1,2"])
        defer { service.stop() }
        try await Task.sleep(for: .seconds(2))
        _ = service.monitor.stop()
        let sqlite3 = try #require(Tools.find("sqlite3"))
        let written = try await runProcess(
            sqlite3,
            [
                database,
                "UPDATE node SET device_joules = 1e999, last_device_wh = 1e999 WHERE name = 'sim-0';"
                    + "UPDATE node SET device_joules = -1e999, energy_joules = 'NaN' WHERE name = 'sim-1';",
            ])
        #expect(written.status == 0, "\(written.stderr)")
        let infinite = try await runProcess(
            sqlite3, [database, "SELECT count(*) FROM node WHERE device_joules IN (1e999, -1e999)"])
        #expect(infinite.stdout.hasPrefix("2"), "\(infinite.stdout)")

        func restart(_ name: String) async throws -> ExpositionReader {
            service.monitor = try ChildProcess(
                TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: name)
            let ready = await eventually(within: .seconds(30)) {
                await TestEnvironment.get(service.base + "/readyz")?.status == 200
            }
            try #require(ready, "not ready: \(service.monitor.stderr.suffix(1500))")
            try await Task.sleep(for: .seconds(3))
            return ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
        }
        let metrics = try await restart("run2")
        for (name, value) in Self.joules(metrics) { #expect(value.isFinite, "\(name) = \(value)") }
        #expect(metrics.value("energy_monitor_store_bad_rows_total{table=\"node\"}") == 2)
        let repairs = service.monitor.stderr.split(separator: "\n").filter {
            $0.contains("stored row out of range") && $0.contains("table=node")
        }
        #expect(repairs.count == 2, "\(repairs)")
        #expect(repairs.contains { $0.contains("node=sim-0") } && repairs.contains { $0.contains("node=sim-1") })
        _ = service.monitor.stop()
        let rows = try await runProcess(
            sqlite3,
            [database, "SELECT name, energy_joules, device_joules, typeof(device_joules) FROM node ORDER BY name"])
        #expect(!rows.stdout.contains("Inf") && !rows.stdout.contains("text"), "\(rows.stdout)")

        // Repaired for good: the next start finds nothing to repair.
        let again = try await restart("run3")
        #expect(again.value("energy_monitor_store_bad_rows_total{table=\"node\"}") == 0)
    }
}

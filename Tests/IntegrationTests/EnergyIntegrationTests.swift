import EnergyModel
import Exposition
import Foundation
import ShellySimulator
import Store
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Energy accounting end to end: the service against the simulator, whose load curve is a
/// known function of time.
@Suite("Energy accounting end to end")
struct EnergyIntegrationTests {
    /// Starts `simulate` and `run` in `folder`; returns both and the metrics URL.
    private func start(_ folder: String, plugs: Int, extra: [String], retention: String? = nil) async throws -> (ChildProcess, ChildProcess, String) {
        let port = TestEnvironment.freePorts(plugs)
        let listen = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            ["simulate", "--plugs", "\(plugs)", "--port", "\(port)", "--write-config", folder + "/config.yaml",
             "--database", folder + "/energy.db", "--listen", "127.0.0.1:\(listen)"] + extra,
            in: folder, name: "simulate"
        )
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        if let retention {
            let config = try String(contentsOfFile: folder + "/config.yaml", encoding: .utf8)
            try (config + "retention: \(retention)\n").write(toFile: folder + "/config.yaml", atomically: true, encoding: .utf8)
        }
        let monitor = try ChildProcess(TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        return (simulator, monitor, "http://127.0.0.1:\(listen)")
    }

    private func energyJSON(_ database: String, node: String, from: Int64, to: Int64) async throws -> [String: Any] {
        let result = try await runProcess(
            TestPaths.binary,
            ["energy", "--database", database, "--node", node, "--from", String(format: "%.3f", Double(from) / 1000),
             "--to", String(format: "%.3f", Double(to) / 1000), "--format", "json"]
        )
        #expect(result.status == 0, "energy: \(result.stderr)")
        let array = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        return try #require(array?.first)
    }

    @Test("60 s of joules within 0.5 % of the exact integral; the folded answer agrees")
    func groundTruth() async throws {
        let folder = try TestEnvironment.makeFolder("energy-truth")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // sim-0 speaks Gen1 (power to 0.01 W), sim-1 Gen2 (0.1 W).
        let (simulator, monitor, base) = try await start(folder, plugs: 2, extra: ["--generations", "1,2"])
        defer { simulator.end(); monitor.end() }
        // The window opens only once the service stores ticks: its start-up time on a busy
        // machine is not what this test measures.
        let ready = await eventually(within: .seconds(30)) { await TestEnvironment.get(base + "/readyz")?.status == 200 }
        try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
        // A window of whole minutes, so minute rows cover it exactly after folding; at least
        // two ticks after readiness.
        let now = WallClock.nowMilliseconds()
        let from = ((now + 2000) / 60_000 + 1) * 60_000
        let to = from + 60_000
        try await Task.sleep(for: .milliseconds(to + 3000 - WallClock.nowMilliseconds()))
        #expect(monitor.stop() == 0)
        for (index, node) in ["sim-0", "sim-1"].enumerated() {
            let exact = LoadProfile.generic(index: index).joules(from: Double(from) / 1000, to: Double(to) / 1000)
            let raw = try await energyJSON(folder + "/energy.db", node: node, from: from, to: to)
            let joules = try #require(raw["joules"] as? Double)
            print(String(format: "energy ground truth %@: %.2f J measured, %.2f J exact, error %.3f %%", node, joules, exact, 100 * (joules - exact) / exact))
            #expect(abs(joules - exact) / exact < 0.005, "\(node): \(joules) J measured, \(exact) J exact")
            #expect((raw["coveragePercent"] as? Double ?? 0) > 99.9, "\(raw)")
            #expect((raw["samples"] as? Int ?? 0) >= 59)
        }
        // Fold the raw samples into minutes, then ask again.
        let store = try EnergyStore(path: folder + "/energy.db")
        var step: EnergyStore.RetentionStep
        repeat {
            step = try await store.retentionStep(rawCutoffMilliseconds: to + 60_000, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 3000)
        } while step.moreToDo
        #expect(try await store.foldedUntil() ?? 0 >= to)
        store.close()
        for node in ["sim-0", "sim-1"] {
            let folded = try await energyJSON(folder + "/energy.db", node: node, from: from, to: to)
            let exact = LoadProfile.generic(index: node == "sim-0" ? 0 : 1).joules(from: Double(from) / 1000, to: Double(to) / 1000)
            let joules = try #require(folded["joules"] as? Double)
            print(String(format: "energy ground truth %@ after folding: %.2f J, error %.3f %%", node, joules, 100 * (joules - exact) / exact))
            #expect(abs(joules - exact) / exact < 0.005, "\(node) folded: \(joules) J, exact \(exact) J")
        }
    }

    @Test("kill -9 loses at most the tick in flight; counters never go back, across restart and device reboots")
    func monotoneCounters() async throws {
        let folder = try TestEnvironment.makeFolder("energy-restart")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // sim-1 reboots every 15 s: its own energy counter restarts from 0.
        var (simulator, monitor, base) = try await start(folder, plugs: 2, extra: ["--generations", "2", "--fault", "1=reboot"])
        defer { simulator.end(); monitor.end() }
        var history: [String: [Double]] = [:]
        let series = [
            "energy_monitor_energy_joules_total{node=\"sim-0\"}", "energy_monitor_energy_joules_total{node=\"sim-1\"}",
            "energy_monitor_device_energy_joules_total{node=\"sim-0\"}", "energy_monitor_device_energy_joules_total{node=\"sim-1\"}",
        ]
        func scrape(for seconds: Int) async {
            for _ in 0..<(seconds * 2) {
                let metrics = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
                for name in series {
                    if let value = metrics.value(name) { history[name, default: []].append(value) }
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        // The scrapes start once the service answers: its start-up time on a busy machine is
        // not what this test measures, and a service that cannot start says why.
        func awaitReady(_ monitor: ChildProcess) async throws {
            let ready = await eventually(within: .seconds(60)) { await TestEnvironment.get(base + "/readyz")?.status == 200 }
            try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
        }
        try await awaitReady(monitor)
        await scrape(for: 9)
        let killedAt = Double(WallClock.nowMilliseconds()) / 1000
        kill(monitor.process.processIdentifier, SIGKILL)
        monitor.process.waitUntilExit()
        monitor = try ChildProcess(TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run2")
        try await awaitReady(monitor)
        await scrape(for: 12)
        for name in series {
            let values = history[name] ?? []
            #expect(values.count >= 25, "\(name): \(values.count) scrapes")
            for (a, b) in zip(values, values.dropFirst()) {
                #expect(b >= a, "\(name) went back from \(a) to \(b)")
            }
            #expect((values.last ?? 0) > (values.first ?? 0), "\(name) did not grow")
        }
        // The rebooting plug's device counter did restart (so the test saw a reset).
        let sqlite3 = try #require(Tools.find("sqlite3"))
        let drops = try await runProcess(sqlite3, [folder + "/energy.db",
            "SELECT count(*) FROM (SELECT device_mwh < lag(device_mwh) OVER (ORDER BY ts_ms) AS dropped FROM readings JOIN node ON node.id = readings.node_id WHERE node.name = 'sim-1') WHERE dropped"])
        #expect(Int(drops.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1, "no device reboot observed")
        // The store survived kill -9.
        let check = try await runProcess(sqlite3, [folder + "/energy.db", "PRAGMA integrity_check"])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")

        // At most one tick lost: the last tick committed before the kill is at most one
        // interval before it, and the only gap above 2 s is the restart.
        let rows = try await runProcess(sqlite3, [folder + "/energy.db", "SELECT node, ts FROM power ORDER BY node, ts"])
        var stored: [String: [Double]] = [:]
        for line in rows.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2, let ts = Double(parts[1]) { stored[String(parts[0]), default: []].append(ts) }
        }
        var lastTicks: [String: Int] = [:]
        for node in ["sim-0", "sim-1"] {
            let times = stored[node] ?? []
            let gaps = zip(times, times.dropFirst()).filter { $1 - $0 > 2 }
            // A quick restart leaves no gap above 2 s at all.
            #expect(gaps.count <= 1 && gaps.allSatisfy { $0.0 < killedAt && $0.1 > killedAt }, "\(node): gaps \(gaps), killed at \(killedAt)")
            let lastBefore = try #require(times.last { (ts: Double) in ts < killedAt }, "\(node): nothing stored before the kill")
            let firstAfter = try #require(times.first { (ts: Double) in ts > killedAt }, "\(node): nothing stored after the restart")
            print(String(format: "kill -9 %@: restart gap %.3f s", node, firstAfter - lastBefore))
            let lost = Int(killedAt.rounded(FloatingPointRoundingRule.down)) - Int(lastBefore.rounded(FloatingPointRoundingRule.down))
            print(String(format: "kill -9 %@: last sample %.3f s before the kill, %d tick(s) lost", node, killedAt - lastBefore, lost))
            #expect(lost <= 1, "\(node): \(lost) ticks lost at kill -9")
            lastTicks[node] = Int(lastBefore.rounded(FloatingPointRoundingRule.down))
        }
        // One transaction per tick: the last tick before the kill is stored for every node or for none.
        let lastTick = lastTicks.values.max() ?? 0
        for node in ["sim-0", "sim-1"] {
            #expect((stored[node] ?? []).contains { (ts: Double) in Int(ts.rounded(FloatingPointRoundingRule.down)) == lastTick }, "tick \(lastTick) stored without \(node)")
        }
    }
}

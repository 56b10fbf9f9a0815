import EnergyModel
import Exposition
import Foundation
import GridSimulator
import TestSupport
import Testing

/// Emissions and cost end to end: the service against the simulator with `carbon:` and
/// `price:`, its counters across a restart, the `energy` command's figures, and Electricity
/// Maps through the stand-in.
@Suite("Emissions and cost end to end")
struct FootprintIntegrationTests {
    /// Starts `simulate` and `run` in `folder` with `extra` appended to the written configuration.
    static func start(_ folder: String, configuration extra: String) async throws -> (
        simulator: ChildProcess, monitor: ChildProcess, base: String
    ) {
        let port = TestEnvironment.freePorts(2)
        let listen = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "2", "--port", "\(port)", "--generations", "1,2", "--write-config",
                folder + "/config.yaml", "--database", folder + "/energy.db", "--listen", "127.0.0.1:\(listen)",
            ],
            in: folder, name: "simulate")
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let config = try String(contentsOfFile: folder + "/config.yaml", encoding: .utf8)
        try (config + extra).write(toFile: folder + "/config.yaml", atomically: true, encoding: .utf8)
        let monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        return (simulator, monitor, "http://127.0.0.1:\(listen)")
    }

    static func awaitReady(_ base: String, _ monitor: ChildProcess) async throws {
        let ready = await eventually(within: .seconds(60)) {
            await TestEnvironment.get(base + "/readyz")?.status == 200
        }
        try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
    }

    @Test("counters at 380 g/kWh and 0.30 EUR/kWh follow the energy counter and continue across a restart")
    func counters() async throws {
        let folder = try TestEnvironment.makeFolder("footprint-counters")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var (simulator, monitor, base) = try await Self.start(
            folder, configuration: "carbon: {gramsPerKWh: 380}\nprice: {perKWh: 0.30, currency: EUR}\n")
        defer {
            simulator.end()
            monitor.end()
        }
        try await Self.awaitReady(base, monitor)
        let energy = #"energy_monitor_energy_joules_total{node="sim-0"}"#
        let grams = #"energy_monitor_emissions_grams_total{node="sim-0"}"#
        let cost = #"energy_monitor_cost_total{node="sim-0",currency="EUR"}"#
        var metrics = ExpositionReader("")
        let grown = await eventually(within: .seconds(30)) {
            metrics = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
            return (metrics.value(grams) ?? 0) > 0
        }
        try #require(grown, "no emissions counted: \(monitor.stderr.suffix(1500))")
        #expect(metrics.value("energy_monitor_grid_carbon_intensity_grams_per_kwh") == 380)
        // The counters start with the energy counter (a new store): each is the joules at the rates.
        let joules = try #require(metrics.value(energy))
        #expect(abs((metrics.value(grams) ?? 0) - joules / 3_600_000 * 380) < 1e-6 * max(1, joules))
        #expect(abs((metrics.value(cost) ?? 0) - joules / 3_600_000 * 0.3) < 1e-9 * max(1, joules))
        let before = (metrics.value(grams) ?? 0, metrics.value(cost) ?? 0)
        #expect(monitor.stop() == 0)
        monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run2")
        try await Self.awaitReady(base, monitor)
        // After the restart: from the stored counters on, never below them, and growing.
        let first = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
        #expect((first.value(grams) ?? 0) >= before.0 && (first.value(cost) ?? 0) >= before.1, "\(before)")
        let more = await eventually(within: .seconds(30)) {
            let later = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
            return (later.value(grams) ?? 0) > before.0 + 1e-6 && (later.value(cost) ?? 0) > before.1
        }
        #expect(more, "the counters did not grow after the restart")

        // The energy command: kWh, grams and cost of a window at the same rates.
        let now = WallClock.nowMilliseconds()
        let result = try await runProcess(
            TestPaths.binary,
            [
                "energy", "--config", folder + "/config.yaml", "--node", "sim-0", "--from",
                String(format: "%.3f", Double(now - 120_000) / 1000), "--to",
                String(format: "%.3f", Double(now) / 1000),
                "--format", "json",
            ])
        #expect(result.status == 0, "energy: \(result.stderr)")
        let entry = try #require(
            (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])?.first)
        let kwh = try #require(entry["kwh"] as? Double)
        let windowJoules = try #require(entry["joules"] as? Double)
        #expect(abs(kwh - windowJoules / 3_600_000) < 1e-6)
        #expect(abs((entry["gramsCO2e"] as? Double ?? -1) - kwh * 380) < 0.002, "\(entry)")
        #expect(abs((entry["cost"] as? Double ?? -1) - kwh * 0.3) < 2e-6, "\(entry)")
        #expect(entry["currency"] as? String == "EUR")
        let csv = try await runProcess(
            TestPaths.binary, ["energy", "--config", folder + "/config.yaml", "--format", "csv", "--node", "sim-1"])
        #expect(csv.stdout.hasPrefix("node,from,to,joules,"), "\(csv.stdout)")
        #expect(
            csv.stdout.split(separator: "\n").first?.hasSuffix(",missing_percent,kwh,grams_co2e,cost,currency") == true)
        #expect(csv.stdout.split(separator: "\n").last?.hasSuffix(",EUR") == true, "\(csv.stdout)")
        let bad = try await runProcess(
            TestPaths.binary, ["energy", "--database", folder + "/energy.db", "--config", folder + "/missing.yaml"])
        #expect(bad.status != 0 && bad.stderr.contains("--config: ") && !bad.stderr.contains("\n\n"), "\(bad.stderr)")
    }

    @Test(
        "Electricity Maps: the service learns the zone's intensity from the stand-in, counts its requests, hides the token"
    )
    func electricityMaps() async throws {
        // The stand-in and the service go by the wall clock's hour, as the hour compared here.
        try await clearOfTheHourEnd()
        let token = "em-integration-token-51ad"
        let grid = GridSimulator(configuration: .init(token: token, zones: ["DE"]))
        try await grid.start()
        defer { Task { await grid.stop() } }
        let url = try #require(grid.url)
        let folder = try TestEnvironment.makeFolder("footprint-maps")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try (token + "\n").write(toFile: folder + "/em-token", atomically: true, encoding: .utf8)
        let (simulator, monitor, base) = try await Self.start(
            folder, configuration: "carbon:\n  electricityMaps: {zone: DE, tokenFile: em-token, url: '\(url)'}\n")
        defer {
            simulator.end()
            monitor.end()
        }
        try await Self.awaitReady(base, monitor)
        let hour = WallClock.nowMilliseconds() / 3_600_000 * 3_600_000
        let expected = Double(Int(clampingRounding: GridSimulator.dailyCurve(hour)))
        var metrics = ExpositionReader("")
        let learned = await eventually(within: .seconds(30)) {
            metrics = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
            return metrics.value("energy_monitor_grid_carbon_intensity_grams_per_kwh") != nil
                && (metrics.value(#"energy_monitor_emissions_grams_total{node="sim-1"}"#) ?? 0) > 0
        }
        try #require(learned, "no intensity learned: \(monitor.stderr.suffix(1500))")
        #expect(metrics.value("energy_monitor_grid_carbon_intensity_grams_per_kwh") == expected)
        #expect(metrics.value(#"energy_monitor_grid_intensity_requests_total{endpoint="history",result="ok"}"#) == 1)
        #expect(metrics.value(#"energy_monitor_grid_intensity_requests_total{endpoint="latest",result="ok"}"#) == 1)
        #expect(metrics.value(#"energy_monitor_grid_intensity_requests_total{endpoint="latest",result="auth"}"#) == 0)
        #expect(grid.requests.count == 2)
        // The cache in the store: the day's hours, for sqlite3 users and the energy command.
        let sqlite3 = try #require(Tools.find("sqlite3"))
        let rows = try await runProcess(
            sqlite3, [folder + "/energy.db", "SELECT count(*) FROM grid_intensity WHERE zone = 'DE'"])
        #expect(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "24")
        let result = try await runProcess(
            TestPaths.binary, ["energy", "--config", folder + "/config.yaml", "--from", "now-1m", "--format", "json"])
        #expect(result.status == 0, "energy: \(result.stderr)")
        #expect(
            result.stdout.contains("\"gramsCO2e\":") && !result.stdout.contains("\"gramsCO2e\":null"),
            "\(result.stdout)")
        #expect(!monitor.stderr.contains(token) && !monitor.stdout.contains(token))
    }
}

import CurlClient
import Exposition
import Foundation
import TestSupport
import Testing

/// The core service end to end: the real binary against the simulator, `sqlite3`,
/// `promtool` and a Prometheus server, all on 127.0.0.1.
@Suite("Service end to end", .serialized)
struct ServiceIntegrationTests {
    @Test("4 plugs (Gen1 Basic, Gen2 Digest, unreachable, garbage) for 20 s")
    func fourPlugs() async throws {
        let sqlite3 = try #require(Tools.find("sqlite3"), "sqlite3 missing: run bash scripts/setup.sh")
        let promtool = try #require(Tools.find("promtool"), "promtool missing: run bash scripts/setup.sh")
        let prometheus = try #require(Tools.find("prometheus"), "prometheus missing: run bash scripts/setup.sh")
        let folder = try TestEnvironment.makeFolder("four-plugs")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plugPort = TestEnvironment.freePorts(4)
        let listenPort = TestEnvironment.freePorts(1)
        let password = "s3cret-\(UUID().uuidString.prefix(6))"
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/plug-password"))

        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "4", "--port", "\(plugPort)", "--generations", "1,2,1,2",
                "--auth", "0,1", "--password-file", folder + "/plug-password",
                "--fault", "2=unreachable", "--fault", "3=garbage",
                "--record", folder + "/served.csv", "--write-config", folder + "/config.yaml",
                "--database", folder + "/energy.db", "--listen", "127.0.0.1:\(listenPort)",
            ],
            in: folder, name: "simulate"
        )
        defer { simulator.end() }
        let configWritten = await eventually(within: .seconds(30)) {
            FileManager.default.fileExists(atPath: folder + "/config.yaml") && simulator.stdout.contains("simulating")
        }
        try #require(configWritten, "simulator did not start: \(simulator.stderr)")

        let monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        defer { monitor.end() }
        let base = "http://127.0.0.1:\(listenPort)"
        let ready = await eventually(within: .seconds(20)) {
            await TestEnvironment.get(base + "/readyz")?.status == 200
        }
        try #require(ready, "service not ready: \(monitor.stderr)")
        // Ready means the first tick is stored: 20 s of service from here on, process start-up
        // (slow on a busy machine) not counted.
        let started = ContinuousClock.now - .seconds(1)
        #expect(await TestEnvironment.get(base + "/healthz")?.status == 200)

        // A real Prometheus server scrapes the service once a second.
        let prometheusPort = TestEnvironment.freePorts(1)
        try """
        global: { scrape_interval: 1s, evaluation_interval: 1s }
        scrape_configs:
          - job_name: energy-monitor
            static_configs: [{ targets: ["127.0.0.1:\(listenPort)"] }]
        """.write(toFile: folder + "/prometheus.yml", atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            prometheus,
            [
                "--config.file=\(folder)/prometheus.yml", "--storage.tsdb.path=\(folder)/tsdb",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ],
            in: folder, name: "prometheus"
        )
        defer { server.end() }

        // Let the service run for 20 s of ticks.
        try await Task.sleep(until: started + .milliseconds(20_500))
        let counts = try await runProcess(
            sqlite3, [folder + "/energy.db", "SELECT node, count(*) FROM power GROUP BY node ORDER BY node"])
        var rows: [String: Int] = [:]
        for line in counts.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2 { rows[String(parts[0])] = Int(parts[1]) }
        }
        #expect((rows["sim-0"] ?? 0) >= 19, "Gen1 Basic auth rows: \(rows)")
        #expect((rows["sim-1"] ?? 0) >= 19, "Gen2 Digest auth rows: \(rows)")
        #expect(rows["sim-2"] == nil, "unreachable plug stored rows: \(rows)")
        #expect(rows["sim-3"] == nil, "garbage plug stored rows: \(rows)")

        // Every stored value is one the simulator served, at the time it served it.
        let stored = try await runProcess(
            sqlite3,
            [folder + "/energy.db", "SELECT node, CAST(round(ts * 1000) AS INTEGER), watts FROM power ORDER BY ts"])
        // Read after the database, so every stored row was served before; only complete lines
        // count (the simulator may be writing the last one).
        let record = try String(contentsOfFile: folder + "/served.csv", encoding: .utf8)
        let complete =
            record.hasSuffix("\n") ? record : String(record[..<(record.lastIndex(of: "\n") ?? record.startIndex)])
        let served = complete.split(separator: "\n").compactMap { line -> (String, Int64, Double)? in
            let parts = line.split(separator: ",")
            guard parts.count == 3, let ts = Int64(parts[1]), let watts = Double(parts[2]) else { return nil }
            return (String(parts[0]), ts, watts)
        }
        var matched = 0
        for line in stored.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|")
            guard parts.count == 3, let ts = Int64(parts[1]), let watts = Double(parts[2]) else { continue }
            let node = String(parts[0])
            let match = served.contains { $0.0 == node && abs($0.1 - ts) < 1000 && abs($0.2 - watts) < 1e-9 }
            #expect(match, "stored \(node) \(ts) \(watts) W was never served")
            if match { matched += 1 }
        }
        #expect(matched >= 38)

        // /metrics: valid exposition, plug_up as expected, power only for healthy plugs.
        let text = await TestEnvironment.getText(base + "/metrics")
        let check = try await runProcess(promtool, ["check", "metrics"], stdin: text)
        #expect(check.status == 0, "promtool: \(check.stdout) \(check.stderr)")
        let metrics = ExpositionReader(text)
        #expect(metrics.value("energy_monitor_plug_up{node=\"sim-0\"}") == 1)
        #expect(metrics.value("energy_monitor_plug_up{node=\"sim-1\"}") == 1)
        #expect(metrics.value("energy_monitor_plug_up{node=\"sim-2\"}") == 0)
        #expect(metrics.value("energy_monitor_plug_up{node=\"sim-3\"}") == 0)
        #expect(metrics.has("energy_monitor_power_watts{node=\"sim-0\"}"))
        #expect(metrics.has("energy_monitor_power_watts{node=\"sim-1\"}"))
        #expect(!metrics.has("energy_monitor_power_watts{node=\"sim-2\"}"))
        #expect(!metrics.has("energy_monitor_power_watts{node=\"sim-3\"}"))
        #expect((metrics.value("energy_monitor_poll_errors_total{node=\"sim-2\",reason=\"connect\"}") ?? 0) >= 15)
        #expect((metrics.value("energy_monitor_poll_errors_total{node=\"sim-3\",reason=\"parse\"}") ?? 0) >= 15)
        #expect((metrics.value("energy_monitor_energy_joules_total{node=\"sim-0\"}") ?? 0) > 0)
        #expect((metrics.value("energy_monitor_device_energy_joules_total{node=\"sim-1\"}") ?? 0) > 0)
        #expect(metrics.has("energy_monitor_voltage_volts{node=\"sim-1\"}"))
        #expect(metrics.has("energy_monitor_build_info{version=\"0.1.0\"}"))
        #expect((metrics.value("process_resident_memory_bytes") ?? 0) > 0)
        #expect(metrics.has("process_cpu_seconds_total"))
        #expect(metrics.has("process_start_time_seconds"))
        #expect(!text.contains(password), "a plug password reached /metrics")

        // The Prometheus server scraped it and answers a query.
        var series: Set<String> = []
        let answered = await eventually(within: .seconds(30)) {
            let body = await TestEnvironment.getText(
                "http://127.0.0.1:\(prometheusPort)/api/v1/query?query=energy_monitor_power_watts")
            series = Self.nodes(inQueryResult: body)
            return series.isSuperset(of: ["sim-0", "sim-1"])
        }
        #expect(answered, "Prometheus answered with \(series); its log: \(server.stderr.suffix(800))")
        #expect(series.isDisjoint(with: ["sim-2", "sim-3"]))

        // Graceful shutdown: exit status 0, and no password in the logs.
        #expect(monitor.stop() == 0)
        #expect(!monitor.stderr.contains(password))
        #expect(monitor.stderr.contains("plug down"))
    }

    /// `node` labels of an instant-query answer.
    static func nodes(inQueryResult body: String) -> Set<String> {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { return [] }
        return Set(result.compactMap { ($0["metric"] as? [String: Any])?["node"] as? String })
    }
}

/// The service's release of its start-up pages, in its own process (a copy of the binary, so
/// that no other process maps its pages, as in a container).
@Suite("Start-up pages of the service")
struct StartupPagesIntegrationTests {
    @Test("after 30 ticks the service hands back its start-up pages once and says what it released")
    func released() async throws {
        let folder = try TestEnvironment.makeFolder("startup-pages")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let binary = folder + "/energy-monitor"
        try FileManager.default.copyItem(atPath: TestPaths.binary, toPath: binary)
        let port = TestEnvironment.freePorts(2)
        let simulator = try ChildProcess(
            TestPaths.binary,
            ["simulate", "--plugs", "2", "--port", "\(port)", "--write-config", folder + "/config.yaml"],
            in: folder, name: "simulate")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(60)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        // 30 ticks of 200 ms.
        let config = try String(contentsOfFile: folder + "/config.yaml", encoding: .utf8)
        try ("interval: 200ms\n" + config).write(toFile: folder + "/config.yaml", atomically: true, encoding: .utf8)
        let monitor = try ChildProcess(
            binary, ["run", "--config", folder + "/config.yaml", "--log-level", "info"], in: folder, name: "run")
        defer { monitor.end() }
        let logged = await eventually(within: .seconds(120), every: .milliseconds(200)) {
            monitor.stderr.contains("released the pages of start-up code") || !monitor.isRunning
        }
        try #require(logged && monitor.isRunning, "no release: \(monitor.stderr.suffix(2000))")
        let line = try #require(
            monitor.stderr.split(separator: "\n").first { $0.contains("released the pages of start-up code") })
        func figure(_ key: String) -> Double? {
            guard let match = line.firstMatch(of: try! Regex("\(key)=([0-9.]+)")) else { return nil }
            return Double(match.output[1].substring ?? "")
        }
        let mappings = try #require(figure("mappings"), "\(line)")
        let before = try #require(figure("fileBackedMiBBefore"), "\(line)")
        let after = try #require(figure("fileBackedMiBAfter"), "\(line)")
        #expect(mappings >= 2, "the binary's and at least one library's: \(line)")
        // The binary's own pages are this process's alone: most of them go.
        #expect(after < before - 5, "\(line)")
        // Once, and the service goes on polling and answering.
        try await Task.sleep(for: .seconds(3))
        #expect(monitor.stderr.components(separatedBy: "released the pages of start-up code").count == 2)
        #expect(monitor.isRunning)
        #expect(monitor.stop() == 0, "\(monitor.stderr.suffix(1000))")
    }
}

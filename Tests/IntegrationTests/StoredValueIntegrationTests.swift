import CurlClient
import EnergyModel
import Exposition
import Foundation
import Store
import TestSupport
import Testing

/// A store whose rows were set to extremes behind the service's back (every column of
/// `chunk`, `recent`, `chunk_minute`, `minute`, `node` and `meta`; `PRAGMA integrity_check`
/// still ok), read through every endpoint and command of the real binary: every answer is
/// served, nothing traps, the bad rows are counted.
@Suite("Stored values out of range end to end", .serialized)
struct StoredValueIntegrationTests {
    /// Writes three hours of history for `nodes` ending two minutes ago (10 s apart, with
    /// voltage, current and counter), 200 ticks of a later minute left in `recent`, and folds
    /// the first hour into minute rows.
    static func prefill(_ database: String, nodes: [String]) async throws -> Int64 {
        let store = try EnergyStore(path: database)
        defer { store.close() }
        try await store.setInterval(milliseconds: 10_000)
        let now = WallClock.nowMilliseconds()
        let start = (now - 3 * 3_600_000) / 60_000 * 60_000
        func tick(_ t: Int64) -> [Sample] {
            nodes.map {
                Sample(
                    node: $0, timestampMilliseconds: t,
                    reading: Reading(watts: 80, volts: 231, amps: 0.4, energyWattHours: Double(t - start) / 45_000_000))
            }
        }
        let minutes = 175
        for step in 0..<(minutes * 6) {
            try await store.write(samples: tick(start + Int64(step) * 10_000), counters: [:])
        }
        let dense = start + Int64(minutes) * 60_000
        for step in 0..<200 { try await store.write(samples: tick(dense + Int64(step) * 250), counters: [:]) }
        while try await store.retentionStep(
            rawCutoffMilliseconds: start + 60 * 60_000, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 30_000
        ).moreToDo {}
        return start
    }

    static func keys(_ database: String, _ table: String, _ key: String, nodes: [String]) async throws -> [(
        node: String, starts: [Int64]
    )] {
        var result: [(node: String, starts: [Int64])] = []
        for node in nodes {
            let rows = try await sqliteRows(
                database,
                "SELECT \(key) FROM \(table) WHERE node_id = (SELECT id FROM node WHERE name = '\(node)') "
                    + "ORDER BY \(key)"
            )
            result.append((node, rows.compactMap { $0.first.flatMap { Int64($0) } }))
        }
        return result
    }

    @Test("every endpoint and command answers over a store with every field at an extreme; the bad rows are counted")
    func everyEndpoint() async throws {
        let folder = try TestEnvironment.makeFolder("stored-values")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        let nodes = ["sim-0", "sim-1"]
        let start = try await Self.prefill(database, nodes: nodes)
        let recent = try await sqliteRows(database, "SELECT id FROM recent ORDER BY id").compactMap {
            $0.first.flatMap { Int64($0) }
        }
        var updates = StoredValueFlips.chunkUpdates(
            keys: try await Self.keys(database, "chunk", "start_ms", nodes: nodes))
        updates += StoredValueFlips.chunkMinuteUpdates(
            keys: try await Self.keys(database, "chunk_minute", "minute", nodes: nodes))
        updates += StoredValueFlips.minuteUpdates(keys: try await Self.keys(database, "minute", "minute", nodes: nodes))
        updates += StoredValueFlips.recentUpdates(ids: recent)
        updates += [
            "UPDATE node SET device_joules = 1e999, last_device_wh = 'NaN' WHERE name = 'sim-0';",
            "UPDATE node SET energy_joules = -1e999, last_ts_ms = 9223372036854775807, last_watts = 1e999 "
                + "WHERE name = 'sim-1';",
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('interval_ms', 'NaN'), "
                + "('folded_until_ms', -9223372036854775808);",
        ]
        #expect(updates.count > 250, "\(updates.count) flips")
        let script = folder + "/flips.sql"
        try updates.joined(separator: "\n").write(toFile: script, atomically: true, encoding: .utf8)
        let sqlite3 = try #require(Tools.find("sqlite3"))
        _ = try await runProcess(sqlite3, [database, ".read \(script)"])
        let integrity = try await runProcess(sqlite3, [database, "PRAGMA integrity_check"])
        #expect(integrity.stdout.hasPrefix("ok"), "\(integrity.stdout)")
        let reported = try await runProcess(
            sqlite3, [database, "SELECT count(*) FROM chunk WHERE mw_scale = 4611686018427387904"])
        #expect(reported.stdout.hasPrefix("1"), "the chunk of the report: \(reported.stdout)")

        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: database, extra: ["--generations", "1,2"])
        defer { service.stop() }
        let hours = (WallClock.nowMilliseconds() - start) / 3_600_000 + 1
        let queries = [
            "/api/v1/power?node=sim-0&from=now-1h&step=1s", "/api/v1/power?node=sim-1&from=now-1h&step=1s",
            "/api/v1/power?node=sim-0,sim-1&from=now-\(hours)h&step=10s",
            "/api/v1/power?node=sim-0,sim-1&from=now-\(hours)h&step=60s",
            "/api/v1/power?node=sim-0,sim-1&from=now-\(hours)h", "/api/v1/nodes", "/api/v1/energy?from=now-\(hours)h",
            "/api/v1/energy?node=sim-0&from=now-\(hours)h&to=now-1h",
            "/api/v1/energy?node=sim-1&from=now-2h&to=now-30m",
            // Minute-aligned windows and steps: answered from the per-minute sums.
            "/api/v1/power?node=sim-0,sim-1&from=\(start / 1000 - 60)&step=60s",
            "/api/v1/power?node=sim-0,sim-1&from=\(start / 1000 - 60)&step=10m",
        ]
        for round in 0..<2 {
            for query in queries {
                let response = await TestEnvironment.get(service.base + query, timeoutMilliseconds: 20_000)
                let text = String(decoding: response?.body ?? [], as: UTF8.self).prefix(300)
                #expect(response?.status == 200, "\(query): \(response?.status ?? -1) \(text)")
                if let body = response?.body {
                    #expect((try? JSONSerialization.jsonObject(with: Data(body))) != nil, "\(query): not JSON")
                }
            }
            // Both nodes' power is served over the prefilled hours (the good rows).
            let power = await TestEnvironment.getText(
                service.base + "/api/v1/power?node=sim-0,sim-1&from=\(start / 1000 - 60)&step=60s")
            let object = try? JSONSerialization.jsonObject(with: Data(power.utf8)) as? [String: Any]
            let series = object?["series"] as? [[String: Any]] ?? []
            #expect(
                series.count == 2 && series.allSatisfy { ($0["points"] as? [Any])?.count ?? 0 > 100 },
                "round \(round): \(power.prefix(300))")
            #expect(service.monitor.isRunning, "the service died: \(service.monitor.stderr.suffix(2000))")
        }
        let metrics = ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
        for table in ["chunk", "recent", "chunk_minute", "minute", "node", "meta"] {
            #expect(
                (metrics.value("energy_monitor_store_bad_rows_total{table=\"\(table)\"}") ?? 0) > 0,
                "\(table) not counted")
        }
        for line in metrics.lines where line.contains("joules_total") {
            #expect(Double(line.split(separator: " ").last ?? "").map(\.isFinite) == true, "\(line)")
        }
        // Each bad row is logged once: never more lines than rows counted.
        let counted = metrics.lines.filter { $0.hasPrefix("energy_monitor_store_bad_rows_total") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        let logged = service.monitor.stderr.components(separatedBy: "stored row out of range").count - 1
        #expect(logged > 0 && Double(logged) <= counted, "\(logged) log lines, \(Int(counted)) bad rows")

        // The commands read the same store (while the service runs).
        for format in ["json", "table", "csv"] {
            let energy = try await runBinary(
                ["energy", "--database", database, "--from", "now-\(hours)h", "--format", format], timeout: .seconds(60)
            )
            #expect(energy.status == 0, "energy --format \(format): \(energy.stderr)")
            #expect(energy.stdout.contains("sim-0") && energy.stdout.contains("sim-1"))
        }
        let pods = try await podsOverTheStore(database: database, from: start)
        #expect(pods.status == 0, "pods: \(pods.stderr)")
        #expect(pods.stdout.split(separator: "\n").count == 3, "\(pods.stdout)")
        let health = await TestEnvironment.get(service.base + "/healthz")
        #expect(service.monitor.isRunning && health?.status == 200)
        print(
            "stored values out of range: \(updates.count) flips, \(Int(counted)) bad rows counted, \(logged) log lines")
    }

    /// `pods` against the fake API server with one pod on each node over the prefilled hours.
    func podsOverTheStore(database: String, from start: Int64) async throws -> ProcessResult {
        let server = try FakeAPIServer()
        defer { server.stop() }
        try await server.requireTokens(["pods-token"], unauthorizedBody: nil)
        let kubeconfig = try server.writeKubeconfig(token: "pods-token")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        func time(_ milliseconds: Int64) -> String {
            formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        }
        let items: [[String: Any]] = ["sim-0", "sim-1"].map { node in
            [
                "metadata": [
                    "name": "job-\(node)", "namespace": "ml",
                    "labels": ["app": "ml-workflow", "workload-profile": "p"],
                ],
                "spec": ["nodeName": node, "containers": [["name": "main", "image": "x"]]],
                "status": [
                    "phase": "Succeeded",
                    "containerStatuses": [
                        [
                            "name": "main",
                            "state": [
                                "terminated": [
                                    "startedAt": time(start), "finishedAt": time(start + 170 * 60_000), "exitCode": 0,
                                ]
                            ],
                        ]
                    ],
                ],
            ]
        }
        let list: [String: Any] = ["kind": "PodList", "apiVersion": "v1", "metadata": [:], "items": items]
        try await server.script(
            status: 200, body: String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self),
            match: "/api/v1/namespaces/ml/pods")
        return try await runBinary(
            ["pods", "--database", database, "--namespace", "ml", "--kubeconfig", kubeconfig], timeout: .seconds(60))
    }
}

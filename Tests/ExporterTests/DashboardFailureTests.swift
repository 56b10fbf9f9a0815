import EnergyModel
import Exporter
import Foundation
import Logging
import Store
import TestSupport
import Testing

/// The dashboard API over HTTP when the store fails: 500 with what failed in words, the
/// store's own message (SQL text, the database's path) only in the log.
@Suite("Dashboard API when the store fails")
struct DashboardFailureTests {
    @Test("500 answers name what failed and SQLite's reason, never SQL text or the database path")
    func storeFailure() async throws {
        let folder = try TemporaryDirectory("dashboard-failure")
        let database = folder.path("energy.db")
        let store = try EnergyStore(path: database)
        defer { store.close() }
        try await store.setInterval(milliseconds: 1000)
        let now = WallClock.nowMilliseconds()
        try await store.write(
            samples: [Sample(node: "tvpc", timestampMilliseconds: now - 1000, reading: Reading(watts: 50))],
            counters: [:])
        // Behind the store's back: every query that needs `meta` now fails in SQLite.
        let sqlite3 = try #require(Tools.find("sqlite3"), "sqlite3 missing: run bash scripts/setup.sh")
        let dropped = try await runProcess(sqlite3, [database, "DROP TABLE meta"])
        try #require(dropped.status == 0, "\(dropped.stderr)")

        let recorder = LogRecorder()
        let port = TestEnvironment.freePorts(1)
        let application = MetricsServer.makeApplication(
            host: "127.0.0.1", port: port,
            metrics: MonitorMetrics(nodes: ["tvpc"], counters: [:], annotations: false),
            readiness: { nil },
            dashboard: DashboardAPI(store: store, nodes: ["tvpc"], intervalMilliseconds: 1000),
            logger: Logger(label: "dashboard-failure") { _ in recorder }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            defer { group.cancelAll() }
            let base = "http://127.0.0.1:\(port)"
            let up = await eventually(within: .seconds(10)) {
                await TestEnvironment.get(base + "/healthz")?.status == 200
            }
            try #require(up, "the server did not start")
            func expectFailure(_ path: String, _ words: String) async throws {
                // A generous timeout: the verdict must come from the store, even on a busy machine.
                let response = try #require(
                    await TestEnvironment.get(base + path, timeoutMilliseconds: 20_000), "\(path): no answer")
                let text = String(decoding: response.body, as: UTF8.self)
                #expect(response.status == 500, "\(path): \(response.status)")
                #expect(text == words, "\(path): \(text)")
                #expect(
                    !text.contains("SELECT") && !text.contains("meta") && !text.contains("no such table")
                        && !text.contains(folder.path), "\(path): \(text)")
            }
            try await expectFailure("/api/v1/power?node=tvpc", "store: cannot read power samples (SQL logic error)\n")
            try await expectFailure("/api/v1/nodes", "store: cannot read the state of the plugs (SQL logic error)\n")
            try await expectFailure("/api/v1/energy?node=tvpc", "store: cannot read energy figures (SQL logic error)\n")
            // The whole story is in the log, for the operator.
            var logged = recorder.entries.filter { $0.level == .error }.map { $0.metadata["error"] ?? "" }
            #expect(logged.count == 3 && logged.allSatisfy { $0.contains("no such table: meta") }, "\(logged)")

            // The energy API's first read, the store's nodes, fails the same way.
            let droppedNodes = try await runProcess(sqlite3, [database, "DROP TABLE node"])
            try #require(droppedNodes.status == 0, "\(droppedNodes.stderr)")
            try await expectFailure("/api/v1/energy", "store: cannot read the nodes of the store (SQL logic error)\n")
            logged = recorder.entries.filter { $0.level == .error }.map { $0.metadata["error"] ?? "" }
            #expect(logged.count == 4 && logged.last?.contains("no such table: node") == true, "\(logged)")

            // The pods' power reads `pod_minute`.
            let droppedPods = try await runProcess(sqlite3, [database, "DROP TABLE pod_minute"])
            try #require(droppedPods.status == 0, "\(droppedPods.stderr)")
            try await expectFailure(
                "/api/v1/pods/power?node=tvpc", "store: cannot read the pods' power (SQL logic error)\n")
            logged = recorder.entries.filter { $0.level == .error }.map { $0.metadata["error"] ?? "" }
            #expect(logged.count == 5 && logged.last?.contains("no such table") == true, "\(logged)")
        }
    }
}

import CurlClient
import Exposition
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The database's files deleted or replaced under the running service: it notices at the
/// next tick, reports not ready, counts and logs it, moves the log into the database and
/// reopens; no committed row is lost, also not to a kill -9 afterwards.
@Suite("Store files end to end", .serialized)
struct StoreFileIntegrationTests {
    static func rows(_ database: String) async throws -> Int {
        let sqlite3 = try #require(Tools.find("sqlite3"), "sqlite3 missing: run bash scripts/setup.sh")
        let result = try await runProcess(sqlite3, [database, "SELECT count(*) FROM power"])
        try #require(result.status == 0, "sqlite3: \(result.stderr)")
        return try #require(Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(result.stdout)")
    }

    static func integrity(_ database: String) async throws -> String {
        let sqlite3 = try #require(Tools.find("sqlite3"))
        return try await runProcess(sqlite3, [database, "PRAGMA integrity_check"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    /// A `curl` loop outside this process asking `/readyz` every 20 ms and writing every
    /// answer to its output: the few ticks of not-ready after a recovery are seen even while
    /// this test process's threads are busy with other suites.
    static func readinessProbe(_ service: FaultIntegrationTests.Service, in folder: String) throws -> ChildProcess {
        let curl = try #require(Tools.find("curl"), "curl missing: run bash scripts/setup.sh")
        let loop =
            "while :; do '\(curl)' -s --max-time 5 -w ' HTTP %{http_code}\\n' '\(service.base)/readyz'; sleep 0.02; done"
        return try ChildProcess("/bin/sh", ["-c", loop], in: folder, name: "readyz probe")
    }

    /// Waits for the probe to have seen a 503 with a reason containing `words`, then for
    /// `/readyz` to answer 200; returns the 503 answer.
    static func notReadyThenReady(_ service: FaultIntegrationTests.Service, _ probe: ChildProcess, _ words: String)
        async -> String
    {
        // Each answer is its body's line followed by " HTTP <status>".
        var body = ""
        var status = ""
        let notReady = await eventually(within: .seconds(30), every: .milliseconds(100)) {
            let lines = probe.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            guard let index = lines.firstIndex(where: { $0.contains(words) }), index + 1 < lines.count else {
                return false
            }
            body = String(lines[index])
            status = String(lines[index + 1])
            return true
        }
        #expect(notReady, "/readyz never said \"\(words)\"; log: \(service.monitor.stderr.suffix(1500))")
        #expect(status == " HTTP 503", "\(body) \(status)")
        let ready = await eventually(within: .seconds(30)) {
            await TestEnvironment.get(service.base + "/readyz")?.status == 200
        }
        #expect(ready, "not ready again; log: \(service.monitor.stderr.suffix(1500))")
        probe.stop()
        return body
    }

    @Test("rm energy.db-wal while running: not ready, counted, recovered; no committed row lost, also after kill -9")
    func deletedLog() async throws {
        let folder = try TestEnvironment.makeFolder("store-wal")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: database, extra: ["--generations", "1,2"])
        defer { service.stop() }
        try await Task.sleep(for: .seconds(3))
        let before = try await Self.rows(database)
        #expect(before >= 4)
        let probe = try Self.readinessProbe(service, in: folder)
        defer { probe.end() }
        #expect(await eventually(within: .seconds(30)) { probe.stdout.contains("HTTP 200") }, "\(probe.stdout)")
        #expect(unlink(database + "-wal") == 0)
        let reason = await Self.notReadyThenReady(service, probe, "write-ahead log")
        #expect(!reason.contains(folder), "a path in /readyz: \(reason)")
        let metrics = ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
        #expect(metrics.value("energy_monitor_store_file_faults_total{file=\"wal\"}") == 1)
        #expect(metrics.value("energy_monitor_store_file_faults_total{file=\"database\"}") == 0)
        let logged = service.monitor.stderr.components(separatedBy: "store file vanished or replaced").count - 1
        #expect(logged == 1, "\(logged) log lines")
        let after = try await Self.rows(database)
        #expect(after > before, "rows before \(before), after the recovery \(after)")

        // kill -9 after the recovery: the database keeps every committed row, intact.
        try await Task.sleep(for: .seconds(2))
        let beforeKill = try await Self.rows(database)
        kill(service.monitor.pid, SIGKILL)
        _ = await service.monitor.waitForExit(timeout: .seconds(10))
        let killed = try await Self.rows(database)
        #expect(killed >= beforeKill, "rows before the kill \(beforeKill), after \(killed)")
        #expect(try await Self.integrity(database) == "ok")
        print("deleted -wal: \(before) rows before, \(after) after the recovery, \(killed) after kill -9")
    }

    @Test("another database moved over energy.db while running: the open one is saved beside it, the new one is used")
    func replacedDatabase() async throws {
        let folder = try TestEnvironment.makeFolder("store-replaced")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: database, extra: ["--generations", "1,2"])
        defer { service.stop() }
        let sqlite3 = try #require(Tools.find("sqlite3"))
        // A backup of a moment ago is restored over the live file.
        try await Task.sleep(for: .seconds(2))
        let backup = try await runProcess(sqlite3, [database, ".backup '\(folder)/backup.db'"])
        #expect(backup.status == 0, "\(backup.stderr)")
        try await Task.sleep(for: .seconds(3))
        let before = try await Self.rows(database)
        let probe = try Self.readinessProbe(service, in: folder)
        defer { probe.end() }
        #expect(await eventually(within: .seconds(30)) { probe.stdout.contains("HTTP 200") }, "\(probe.stdout)")
        #expect(rename(folder + "/backup.db", database) == 0)
        _ = await Self.notReadyThenReady(service, probe, "database file was replaced")
        let metrics = ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
        #expect(metrics.value("energy_monitor_store_file_faults_total{file=\"database\"}") == 1)
        let saved = try FileManager.default.contentsOfDirectory(atPath: folder).filter {
            $0.hasPrefix("energy.db.replaced-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm")
        }
        try #require(saved.count == 1, "\(saved)")
        let savedRows = try await Self.rows(folder + "/" + saved[0])
        #expect(savedRows >= before, "saved \(savedRows) of \(before) rows")
        #expect(try await Self.integrity(folder + "/" + saved[0]) == "ok")
        // The restored file takes the new ticks.
        let first = try await Self.rows(database)
        let grew = await eventually(within: .seconds(20)) { ((try? await Self.rows(database)) ?? 0) > first }
        #expect(grew)
        kill(service.monitor.pid, SIGKILL)
        _ = await service.monitor.waitForExit(timeout: .seconds(10))
        #expect(try await Self.integrity(database) == "ok")
        print("replaced database: \(before) rows before, \(savedRows) saved beside it, \(first) in the restored file")
    }
}

import Exposition
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test and unmounted after it.
final class SmallFilesystem {
    let path: String

    /// Mounts a tmpfs of `megabytes` at `path`; throws when mounting is not permitted.
    init(at path: String, megabytes: Int) async throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mount = try #require(Tools.find("mount"))
        let result = try await runProcess(mount, ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0755", "tmpfs", path], timeout: .seconds(10))
        try #require(result.status == 0, "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): \(result.stderr)")
    }

    /// Fills the filesystem to the last byte; returns the filler's size.
    func fill() throws -> Int {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var written = 0
        let block = [UInt8](repeating: 0xA5, count: 4096)
        while true {
            let count = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            written += count
        }
        // Then byte by byte: "full" means not a single byte left.
        var byte: UInt8 = 0
        while write(fd, &byte, 1) == 1 { written += 1 }
        return written
    }

    /// Gives the space back.
    func drain() {
        unlink(path + "/filler")
    }

    deinit {
        // deinit cannot wait asynchronously; a lazy unmount returns at once.
        guard let umount = Tools.find("umount") else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: umount)
        process.arguments = ["-l", path]
        try? process.run()
        process.waitUntilExit()
    }
}

/// The database's filesystem fails under the running service.
@Suite("Storage faults end to end", .serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct StorageFaultTests {
    @Test("a full filesystem: polling and /metrics go on, the error is reported, nothing is lost once space returns")
    func fullFilesystem() async throws {
        let folder = try TestEnvironment.makeFolder("fault-full")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let filesystem = try await SmallFilesystem(at: folder + "/db", megabytes: 4)
        defer { withExtendedLifetime(filesystem) {} }
        let database = filesystem.path + "/energy.db"
        let service = try await FaultIntegrationTests.start(folder, plugs: 2, database: database, extra: ["--generations", "1,2"])
        defer { service.stop() }
        func metrics() async -> ExpositionReader {
            ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
        }
        let errors = "energy_monitor_store_errors_total"

        try await Task.sleep(for: .seconds(2))
        let filled = try filesystem.fill()
        let fullSince = Date().timeIntervalSince1970
        var failing = ExpositionReader("")
        var readyz = ""
        let reported = await eventually(within: .seconds(20)) {
            failing = await metrics()
            readyz = await TestEnvironment.getText(service.base + "/readyz")
            return (failing.value(errors) ?? 0) >= 3 && readyz.contains("store")
        }
        #expect(reported, "store errors \(failing.value(errors) ?? -1), /readyz \(readyz); log: \(service.monitor.stderr.suffix(1500))")
        #expect(await TestEnvironment.get(service.base + "/readyz")?.status == 503)
        // Polling goes on: fresh samples keep reaching /metrics while nothing can be written.
        let before = failing.value("energy_monitor_last_sample_timestamp_seconds{node=\"sim-1\"}") ?? 0
        try await Task.sleep(for: .seconds(4))
        let during = await metrics()
        #expect((during.value("energy_monitor_last_sample_timestamp_seconds{node=\"sim-1\"}") ?? 0) >= before + 2)
        #expect(during.value("energy_monitor_plug_up{node=\"sim-0\"}") == 1)
        #expect(during.has("energy_monitor_power_watts{node=\"sim-0\"}"))
        #expect((during.value(errors) ?? 0) > (failing.value(errors) ?? 0), "store errors did not grow")
        let failedLines = service.monitor.stderr.components(separatedBy: "store write failed").count - 1
        #expect(failedLines == 1, "\(failedLines) log lines for one outage")
        let fullFor = Date().timeIntervalSince1970 - fullSince

        // Space returns: the samples kept in memory are written, the service is ready again.
        filesystem.drain()
        let drained = ContinuousClock.now
        let recovered = await eventually(within: .seconds(20)) { await TestEnvironment.get(service.base + "/readyz")?.status == 200 }
        let recovery = ContinuousClock.now - drained
        #expect(recovered, "not ready after space returned; log: \(service.monitor.stderr.suffix(1500))")
        #expect(service.monitor.stderr.contains("store writable again"))
        try await Task.sleep(for: .seconds(2))
        let after = await metrics()
        print(
            String(
                format: "full filesystem: %d bytes of filler, full for %.1f s, %.0f failed ticks, ready again %@ after space returned",
                filled, fullFor, after.value(errors) ?? -1, "\(recovery)"
            )
        )

        // Nothing lost: every node's samples run without a gap across the outage.
        service.monitor.stop()
        let sqlite3 = try #require(Tools.find("sqlite3"))
        let check = try await runProcess(sqlite3, [database, "PRAGMA integrity_check"])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        for (node, series) in try await FaultIntegrationTests.timestamps(database) {
            let gaps = zip(series, series.dropFirst()).filter { $1 - $0 > 2 }
            #expect(gaps.isEmpty, "\(node): gaps \(gaps)")
            #expect(series.contains { $0 > fullSince + 1 && $0 < fullSince + fullFor - 1 }, "\(node): no sample from the outage")
        }
    }

    @Test("a full filesystem with a small backlog: the oldest samples are dropped and counted, the newest are written")
    func fullFilesystemSmallBacklog() async throws {
        let folder = try TestEnvironment.makeFolder("fault-backlog")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let filesystem = try await SmallFilesystem(at: folder + "/db", megabytes: 4)
        defer { withExtendedLifetime(filesystem) {} }
        let database = filesystem.path + "/energy.db"
        // Two plugs' ticks are about 300 bytes each: 3 KiB keep ten or so.
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: database, extra: ["--generations", "1,2"], configuration: "backlog: 3KiB"
        )
        defer { service.stop() }
        func metrics() async -> ExpositionReader {
            ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
        }
        let dropped = "energy_monitor_samples_dropped_total"
        #expect(await metrics().value(dropped) == 0)

        try await Task.sleep(for: .seconds(2))
        _ = try filesystem.fill()
        let fullSince = Date().timeIntervalSince1970
        var during = ExpositionReader("")
        let dropping = await eventually(within: .seconds(40)) {
            during = await metrics()
            return (during.value(dropped) ?? 0) >= 10
        }
        #expect(dropping, "dropped \(during.value(dropped) ?? -1); log: \(service.monitor.stderr.suffix(1500))")
        let fullUntil = Date().timeIntervalSince1970
        filesystem.drain()
        let recovered = await eventually(within: .seconds(20)) { service.monitor.stderr.contains("store backlog written") }
        #expect(recovered, "log: \(service.monitor.stderr.suffix(1500))")
        try await Task.sleep(for: .seconds(2))
        let after = await metrics()
        #expect((after.value(dropped) ?? 0) >= (during.value(dropped) ?? 0))
        for message in ["store write failed", "store backlog full", "store writable again", "store backlog written"] {
            let lines = service.monitor.stderr.components(separatedBy: message).count - 1
            #expect(lines == 1, "\(lines) lines \"\(message)\" for one outage")
        }
        service.monitor.stop()

        // Dropped samples leave one gap, at the start of the outage; what was kept runs on
        // without a gap from there into the time after it.
        for (node, series) in try await FaultIntegrationTests.timestamps(database) {
            let gaps = zip(series, series.dropFirst()).filter { $1 - $0 > 2 }
            #expect(gaps.count == 1, "\(node): gaps \(gaps)")
            if let gap = gaps.first {
                #expect(gap.0 >= fullSince - 2 && gap.1 <= fullUntil + 1, "\(node): gap \(gap) outside the outage \(fullSince)...\(fullUntil)")
            }
            #expect(series.contains { $0 > fullUntil - 3 && $0 < fullUntil }, "\(node): the outage's newest samples are missing")
        }
    }

    @Test("a database on a read-only filesystem at start: one clear line and a non-zero exit")
    func readOnlyAtStart() async throws {
        let folder = try TestEnvironment.makeFolder("fault-readonly")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let filesystem = try await SmallFilesystem(at: folder + "/db", megabytes: 1)
        defer { withExtendedLifetime(filesystem) {} }
        let mount = try #require(Tools.find("mount"))
        let remount = try await runProcess(mount, ["-o", "remount,ro", filesystem.path], timeout: .seconds(10))
        try #require(remount.status == 0, "cannot remount read-only: \(remount.stderr)")
        let port = TestEnvironment.freePorts(1)
        let listen = TestEnvironment.freePorts(1)
        let written = try await runProcess(
            TestPaths.binary,
            ["simulate", "--plugs", "1", "--port", "\(port)", "--write-config", folder + "/config.yaml",
             "--database", filesystem.path + "/energy.db", "--listen", "127.0.0.1:\(listen)", "--duration", "1"]
        )
        #expect(written.status == 0, "simulate: \(written.stderr)")
        let run = try await runProcess(TestPaths.binary, ["run", "--config", folder + "/config.yaml"], timeout: .seconds(30))
        #expect(run.status != 0)
        let lines = run.stderr.split(separator: "\n").filter { $0.contains("error") }
        #expect(lines.count == 1 && lines.allSatisfy { $0.contains("energy.db") }, "stderr: \(run.stderr)")
    }
}

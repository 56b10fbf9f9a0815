import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The service under faults: unbelievable plug bodies, a full filesystem under the database,
/// and slow clients on `/metrics`. The real binary against the simulator, on 127.0.0.1.
@Suite("Faults end to end", .serialized)
struct FaultIntegrationTests {
    /// A running `simulate` + `run` pair in `folder`.
    struct Service {
        var simulator: ChildProcess
        var monitor: ChildProcess
        var base: String

        func stop() {
            monitor.stop()
            simulator.stop()
        }
    }

    static func start(_ folder: String, plugs: Int, database: String, extra: [String]) async throws -> Service {
        let port = TestEnvironment.freePorts(plugs)
        let listen = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            ["simulate", "--plugs", "\(plugs)", "--port", "\(port)", "--write-config", folder + "/config.yaml",
             "--database", database, "--listen", "127.0.0.1:\(listen)"] + extra,
            in: folder, name: "simulate"
        )
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let monitor = try ChildProcess(TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        let service = Service(simulator: simulator, monitor: monitor, base: "http://127.0.0.1:\(listen)")
        let ready = await eventually(within: .seconds(30)) { await TestEnvironment.get(service.base + "/readyz")?.status == 200 }
        if !ready { service.stop() }
        try #require(ready, "service not ready: \(monitor.stderr.suffix(800))")
        return service
    }

    /// `node -> [ts]` of the `power` view, oldest first.
    static func timestamps(_ database: String) async throws -> [String: [Double]] {
        let sqlite3 = try #require(Tools.find("sqlite3"), "sqlite3 missing: run bash scripts/setup.sh")
        let rows = try await runProcess(sqlite3, [database, "SELECT node, ts FROM power ORDER BY node, ts"])
        #expect(rows.status == 0, "sqlite3: \(rows.stderr)")
        var result: [String: [Double]] = [:]
        for line in rows.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2, let ts = Double(parts[1]) { result[String(parts[0]), default: []].append(ts) }
        }
        return result
    }

    @Test("8 MiB bodies, 64 KiB of headers, cut-off, NaN, infinite, absurd and negative bodies count as invalid and are never stored")
    func unbelievableBodies() async throws {
        let folder = try TestEnvironment.makeFolder("fault-bodies")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Negative noise last, then one healthy plug.
        let faults = ["huge-body", "huge-headers", "truncated", "nan", "infinite", "absurd", "negative", "negative-noise"]
        let noise = faults.count - 1
        let healthy = faults.count
        // Even plugs speak Gen1, odd ones Gen2: every fault is seen through both parsers over the run.
        let service = try await Self.start(
            folder, plugs: faults.count + 1, database: folder + "/energy.db",
            extra: ["--generations", "1,2"] + faults.enumerated().flatMap { ["--fault", "\($0.offset)=\($0.element)"] }
        )
        defer { service.stop() }
        let refused = 0..<noise
        func invalid(_ metrics: Exposition, _ index: Int) -> Double {
            metrics.value("energy_monitor_poll_errors_total{node=\"sim-\(index)\",reason=\"invalid\"}") ?? 0
        }
        var metrics = Exposition("")
        let counted = await eventually(within: .seconds(30)) {
            metrics = Exposition(await TestEnvironment.getText(service.base + "/metrics"))
            return refused.allSatisfy { invalid(metrics, $0) >= 5 }
        }
        #expect(counted, "invalid counts: \(refused.map { invalid(metrics, $0) }); log: \(service.monitor.stderr.suffix(1500))")
        var late = 0.0
        for index in refused {
            // The body decides the reason: never `parse` or `http`. (A poll that times out
            // while the machine is busy starting two processes is counted as such; printed.)
            for reason in ["parse", "http"] {
                let other = metrics.value("energy_monitor_poll_errors_total{node=\"sim-\(index)\",reason=\"\(reason)\"}") ?? 0
                #expect(other == 0, "sim-\(index) (\(faults[index])): \(other) polls counted as \(reason)")
            }
            late += metrics.value("energy_monitor_poll_errors_total{node=\"sim-\(index)\",reason=\"timeout\"}") ?? 0
            #expect(metrics.value("energy_monitor_plug_up{node=\"sim-\(index)\"}") == 0)
            #expect(!metrics.has("energy_monitor_power_watts{node=\"sim-\(index)\"}"))
        }
        #expect(invalid(metrics, noise) == 0, "negative noise counted as invalid")
        #expect(metrics.value("energy_monitor_power_watts{node=\"sim-\(noise)\"}") == 0)

        let sqlite3 = try #require(Tools.find("sqlite3"), "sqlite3 missing: run bash scripts/setup.sh")
        let rows = try await runProcess(sqlite3, [folder + "/energy.db", "SELECT node, count(*), min(watts), max(watts) FROM power GROUP BY node ORDER BY node"])
        var stored: [String: (count: Int, min: Double, max: Double)] = [:]
        for line in rows.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|").map(String.init)
            if parts.count == 4, let count = Int(parts[1]), let low = Double(parts[2]), let high = Double(parts[3]) {
                stored[parts[0]] = (count, low, high)
            }
        }
        print("fault bodies: stored rows per node \(stored.mapValues(\.count)), invalid polls \(refused.map { Int(invalid(metrics, $0)) }), timeouts \(Int(late))")
        for index in refused {
            #expect(stored["sim-\(index)"] == nil, "\(faults[index]) stored: \(String(describing: stored["sim-\(index)"]))")
        }
        let noiseRows = try #require(stored["sim-\(noise)"], "negative-noise plug stored nothing: \(rows.stdout)")
        #expect(noiseRows.count >= 5 && noiseRows.min == 0 && noiseRows.max == 0, "negative noise stored as \(noiseRows)")
        let healthyRows = try #require(stored["sim-\(healthy)"], "healthy plug stored nothing")
        #expect(healthyRows.count >= 5 && healthyRows.min > 0)
        // Nothing unbelievable anywhere in the view.
        let odd = try await runProcess(sqlite3, [folder + "/energy.db", "SELECT count(*) FROM power WHERE watts IS NULL OR watts < 0 OR watts > 8000"])
        #expect(odd.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    /// A TCP connection to 127.0.0.1:`port`; `receiveBuffer` shrinks the socket's buffer so
    /// a response that is not read backs up quickly.
    static func connect(port: Int, receiveBuffer: Int32? = nil) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    /// True once the peer closed `fd` (a read returns 0 or an error other than "would block").
    static func isClosedByPeer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { continue }  // drain what was sent before the close
            return count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    @Test("200 slow clients on /metrics do not stop scrapes; silent ones are closed after the idle timeout")
    func slowClients() async throws {
        let folder = try TestEnvironment.makeFolder("fault-slow-clients")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let service = try await Self.start(folder, plugs: 2, database: folder + "/energy.db", extra: ["--generations", "1,2"])
        defer { service.stop() }
        let port = try #require(Int(service.base.split(separator: ":").last ?? ""))
        // 100 clients send their request a byte at a time; 100 send it whole and never read
        // the answer, through a tiny receive buffer.
        let request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\n\r\n"
        var trickling: [Int32] = []
        var notReading: [Int32] = []
        defer { for fd in trickling + notReading { close(fd) } }
        for index in 0..<200 {
            if index % 2 == 0 {
                let fd = try #require(Self.connect(port: port), "connection \(index) refused")
                Self.send(fd, "G")
                trickling.append(fd)
            } else {
                let fd = try #require(Self.connect(port: port, receiveBuffer: 1024), "connection \(index) refused")
                for _ in 0..<4 { Self.send(fd, request) }  // pipelined: four answers pile up unread
                notReading.append(fd)
            }
        }
        // While they hang on, normal scrapes answer (each within the client's 3 s timeout).
        var answered = 0
        let chars = Array(request.utf8)
        for round in 1...12 {
            for fd in trickling where round < chars.count {
                _ = chars[round...round].withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
            }
            let response = await TestEnvironment.get(service.base + "/metrics")
            let text = response.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            #expect(response?.status == 200 && text.contains("energy_monitor_power_watts{node=\"sim-0\"}"), "scrape \(round) failed")
            if response?.status == 200 { answered += 1 }
            try await Task.sleep(for: .milliseconds(500))
        }
        print("slow clients: \(answered) of 12 scrapes answered while 200 slow clients were connected")
        #expect(await TestEnvironment.get(service.base + "/readyz")?.status == 200)
        // Slow senders that never finish their request are dropped after the idle timeout (15 s).
        let dropped = await eventually(within: .seconds(30)) { trickling.allSatisfy(Self.isClosedByPeer) }
        #expect(dropped, "\(trickling.filter { !Self.isClosedByPeer($0) }.count) trickling connections still open")
        #expect(service.monitor.isRunning)
    }
}

import CurlClient
import Exposition
import Foundation
import Scoring
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The service under faults: unbelievable plug bodies, a full filesystem under the database,
/// and slow clients on `/metrics` and the extender. The real binary (against the simulator), on 127.0.0.1.
@Suite("Faults end to end", .serialized)
struct FaultIntegrationTests {
    /// A running `simulate` + `run` pair in `folder`.
    struct Service {
        var simulator: ChildProcess
        var monitor: ChildProcess
        var base: String

        func stop() {
            monitor.end()
            simulator.end()
        }
    }

    /// Starts the pair; `configuration` is appended to the configuration `simulate` wrote
    /// (top-level keys such as `backlog: 4KiB`).
    static func start(_ folder: String, plugs: Int, database: String, extra: [String], configuration: String = "") async throws -> Service {
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
        if !configuration.isEmpty {
            let file = try #require(FileHandle(forWritingAtPath: folder + "/config.yaml"))
            file.seekToEndOfFile()
            file.write(Data(("\n" + configuration + "\n").utf8))
            try file.close()
        }
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
        // Even plugs speak Gen1, odd ones Gen2: every fault is seen through both parsers over the
        // run, over HTTP (the faults mangle HTTP answers; a Gen2 plug's WebSocket, which `auto`
        // prefers, carries its readings unharmed, and storing those is right).
        let service = try await Self.start(
            folder, plugs: faults.count + 1, database: folder + "/energy.db",
            extra: ["--generations", "1,2", "--transport", "http"]
                + faults.enumerated().flatMap { ["--fault", "\($0.offset)=\($0.element)"] }
        )
        defer { service.stop() }
        let refused = 0..<noise
        func invalid(_ metrics: ExpositionReader, _ index: Int) -> Double {
            metrics.value("energy_monitor_poll_errors_total{node=\"sim-\(index)\",reason=\"invalid\"}") ?? 0
        }
        var metrics = ExpositionReader("")
        let counted = await eventually(within: .seconds(30)) {
            metrics = ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
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

    /// 200 slow clients connected to 127.0.0.1:`port`: 100 send `request` a byte a round and
    /// never finish it, 100 send `unread` whole and never read the answers (through a tiny
    /// receive buffer). `normal` runs once a round, 12 rounds half a second apart, and says
    /// whether it was answered.
    final class SlowClients {
        var trickling: [Int32] = []
        var notReading: [Int32] = []
        var answered = 0

        init(port: Int, request: String, unread: String, normal: (Int) async -> Bool) async throws {
            let bytes = Array(request.utf8)
            for index in 0..<200 {
                if index % 2 == 0 {
                    let fd = try #require(RawSocket.connect(port: port), "connection \(index) refused")
                    RawSocket.send(fd, [bytes[0]])
                    trickling.append(fd)
                } else {
                    let fd = try #require(RawSocket.connect(port: port, receiveBuffer: 1024), "connection \(index) refused")
                    RawSocket.send(fd, unread)
                    notReading.append(fd)
                }
            }
            for round in 1...12 {
                for fd in trickling where round < bytes.count {
                    RawSocket.send(fd, [bytes[round]])
                }
                if await normal(round) { answered += 1 }
                try await Task.sleep(for: .milliseconds(500))
            }
        }

        deinit {
            for fd in trickling + notReading { close(fd) }
        }

        /// Waits for the server to close every connection in `connections`.
        static func closed(_ connections: [Int32], within limit: Duration) async -> Int {
            _ = await eventually(within: limit) { connections.allSatisfy(RawSocket.isClosedByPeer) }
            return connections.filter { !RawSocket.isClosedByPeer($0) }.count
        }
    }

    @Test("200 slow clients on /metrics do not stop scrapes; silent ones are closed after the idle timeout")
    func slowClients() async throws {
        let folder = try TestEnvironment.makeFolder("fault-slow-clients")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let service = try await Self.start(folder, plugs: 2, database: folder + "/energy.db", extra: ["--generations", "1,2"])
        defer { service.stop() }
        let port = try #require(Int(service.base.split(separator: ":").last ?? ""))
        // Pipelined: four answers pile up unread.
        let request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\n\r\n"
        let clients = try await SlowClients(port: port, request: request, unread: String(repeating: request, count: 4)) { round in
            // Each normal scrape answers within the client's 3 s timeout.
            let response = await TestEnvironment.get(service.base + "/metrics")
            let text = response.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            #expect(response?.status == 200 && text.contains("energy_monitor_power_watts{node=\"sim-0\"}"), "scrape \(round) failed")
            return response?.status == 200
        }
        print("slow clients: \(clients.answered) of 12 scrapes answered while 200 slow clients were connected")
        #expect(await TestEnvironment.get(service.base + "/readyz")?.status == 200)
        // Slow senders that never finish their request are dropped after the idle timeout (15 s).
        let open = await SlowClients.closed(clients.trickling, within: .seconds(30))
        #expect(open == 0, "\(open) trickling connections still open")
        #expect(service.monitor.isRunning)
    }

    @Test("200 slow clients on the extender do not stop prioritize calls; silent ones are closed after the idle timeout")
    func extenderSlowClients() async throws {
        let folder = try TestEnvironment.makeFolder("fault-extender-slow-clients")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let extender = try ChildProcess(
            TestPaths.binary,
            // 15 s instead of the default 120 s (above kube-scheduler's 90 s keep-alive), so that
            // the stalled senders are closed within the test.
            [
                "extender", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--listen", "127.0.0.1:0", "--log-level",
                "warning", "--idle-timeout", "15",
            ],
            in: folder, name: "extender"
        )
        defer { extender.end() }
        var base = ""
        let listening = await eventually(within: .seconds(20)) {
            base = extender.stdout.split(separator: "\n").first { $0.hasPrefix("extender listening on ") }
                .map { String($0.dropFirst("extender listening on ".count)) } ?? ""
            return !base.isEmpty || !extender.isRunning
        }
        try #require(listening && !base.isEmpty, "extender not listening: \(extender.output)")
        let port = try #require(Int(base.split(separator: ":").last ?? ""))

        func post(_ path: String, _ body: String, host: String = "127.0.0.1") -> String {
            "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        // The unread answers are filter results of 250 unknown node names, 20 KB each: they wait
        // in the sockets' buffers. (ExtenderBudgetTests covers answers too large for those.)
        let names = (0..<250).map { "\"node-\($0)\"" }.joined(separator: ",")
        let filter = #"{"Pod":{"metadata":{"name":"p","labels":{"app":"ml-workflow","workload-profile":"training"}}},"NodeNames":["#
            + names + "]}"
        let args = ExtenderArgs(
            pod: ExtenderPod(
                metadata: ObjectMetadata(
                    name: "ml-train-job-x", labels: ["app": "ml-workflow", "workload-profile": "training"],
                    annotations: ["scheduler.policy/performance-weight": "1.0"])),
            nodes: ExtenderNodeList(items: ["tvpc", "wyse", "rpi"].map { ExtenderNode(name: $0) }),
            nodeNames: nil
        )
        let prioritize = Array(try JSONEncoder().encode(args))
        let clients = try await SlowClients(
            port: port, request: post("/scheduler/prioritize", String(decoding: prioritize, as: UTF8.self)),
            unread: post("/scheduler/filter", filter)
        ) { round in
            let response = try? await TestEnvironment.client.perform(
                HTTPRequest(
                    url: base + "/scheduler/prioritize", method: "POST", headers: ["Content-Type: application/json"],
                    body: prioritize, timeoutMilliseconds: 5000))  // kube-scheduler's httpTimeout
            let scores = response.flatMap { try? JSONDecoder().decode([HostPriority].self, from: Data($0.body)) }
            // A debug build on a fully loaded 2-core machine may miss the 5 s of one call while
            // the 200 connections are being opened; every answer must be right.
            if let response {
                #expect(scores?.map(\.score) == [10, 0, 0], "prioritize \(round): HTTP \(response.status)")
            }
            return scores != nil
        }
        print("extender slow clients: \(clients.answered) of 12 prioritize calls answered while 200 slow clients were connected")
        #expect(clients.answered >= 10, "\(clients.answered) of 12 prioritize calls answered within 5 s")
        // Senders that stall and readers that stop are both closed after the idle timeout (15 s).
        let trickling = await SlowClients.closed(clients.trickling, within: .seconds(30))
        #expect(trickling == 0, "\(trickling) trickling connections still open")
        let notReading = await SlowClients.closed(clients.notReading, within: .seconds(15))
        #expect(notReading == 0, "\(notReading) connections that never read still open")
        #expect(extender.isRunning)
        // Every call is answered, a late one after its client gave up.
        var metrics = ""
        let counted = await eventually(within: .seconds(15)) {
            metrics = await TestEnvironment.getText(base + "/metrics")
            return metrics.contains(#"energy_monitor_extender_requests_total{endpoint="prioritize",code="200"} 12"#)
        }
        #expect(counted, "\(metrics)")
    }
}

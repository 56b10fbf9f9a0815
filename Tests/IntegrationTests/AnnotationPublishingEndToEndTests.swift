import CurlClient
import Foundation
import Testing
import TestSupport

/// The real `energy-monitor run` against simulated plugs and the fake HTTPS API server:
/// write rates at steady and fluctuating load, freshness, step latency, and a 10 s outage.
@Suite("Annotation publishing end to end", .serialized)
struct AnnotationPublishingEndToEndTests {
    struct Write {
        let arrival: Double
        let watts: Double
        let lastUpdated: Double
    }

    /// Successful annotation writes of `node`, in arrival order.
    static func writes(_ requests: [FakeAPIServer.Request], node: String) -> [Write] {
        requests.filter { $0.method == "PATCH" && $0.path == "/api/v1/nodes/\(node)" && $0.status == 200 }.compactMap { request in
            guard let object = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any],
                let annotations = (object["metadata"] as? [String: Any])?["annotations"] as? [String: String],
                let watts = annotations["energy.thesis.io/current-watts"].flatMap(Double.init),
                let updated = annotations["energy.thesis.io/last-updated"].flatMap(Double.init)
            else { return nil }
            return Write(arrival: request.time, watts: watts, lastUpdated: updated)
        }
    }

    @Test("steady load ≤ 6 writes/min and fresh; steps within 2 s; a 10 s API outage costs no poll tick")
    func endToEnd() async throws {
        try TestPaths.requireBinary()
        let server = try FakeAPIServer()
        defer { server.stop() }
        try await server.requireTokens(["e2e-token"], unauthorizedBody: nil)
        let directory = server.certificates.directory
        let kubeconfig = try server.writeKubeconfig(token: "e2e-token")

        let ports = TestEnvironment.freePorts(4)
        let config = directory.appendingPathComponent("monitor.yaml").path
        let database = directory.appendingPathComponent("energy.db").path
        let simulator = try ChildProcess(
            TestPaths.binary,
            ["simulate", "--plugs", "3", "--port", "\(ports)", "--profiles", "flat,step,generic",
             "--write-config", config, "--database", database, "--listen", "127.0.0.1:\(ports + 3)"],
            in: directory.path, name: "simulator")
        defer { simulator.end() }
        var waited = 0
        while !FileManager.default.fileExists(atPath: config), waited < 300 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        try #require(FileManager.default.fileExists(atPath: config), "simulator wrote no config: \(simulator.output)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: config))
        handle.seekToEndOfFile()
        handle.write(Data("kubernetes:\n  annotate: true\n  kubeconfig: \(kubeconfig)\n".utf8))
        try handle.close()

        let monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", config], in: directory.path, name: "monitor")
        defer { monitor.end() }

        // One minute of normal operation after a short warm-up.
        try await Task.sleep(for: .seconds(5))
        let windowStart = Date().timeIntervalSince1970
        try await Task.sleep(for: .seconds(61))
        let windowEnd = Date().timeIntervalSince1970
        try #require(monitor.process.isRunning, "monitor exited: \(monitor.output)")

        // The API server goes away for 10 s.
        let downAt = Date().timeIntervalSince1970
        try await server.goDown(seconds: 10)
        try await Task.sleep(for: .seconds(10))
        let upAt = downAt + 10
        var requests = try await server.requests()
        for _ in 0..<40 {
            let resumed = ["sim-0", "sim-1", "sim-2"].allSatisfy { node in
                Self.writes(requests, node: node).contains { $0.arrival > upAt }
            }
            if resumed { break }
            try await Task.sleep(for: .seconds(1))
            requests = try await server.requests()
        }
        let metrics = try await CurlMultiClient().perform(HTTPRequest(url: "http://127.0.0.1:\(ports + 3)/metrics"))
        monitor.stop()
        simulator.stop()

        // Steady load (sim-0): at most 6 writes in the minute, last-updated never older than 15 s.
        let steady = Self.writes(requests, node: "sim-0")
        let steadyInWindow = steady.filter { $0.arrival >= windowStart && $0.arrival < windowEnd }
        #expect(steadyInWindow.count <= 6, "steady writes per minute: \(steadyInWindow.count)")
        #expect(steadyInWindow.count >= 4)
        var maxAge = 0.0
        for (previous, next) in zip(steady, steady.dropFirst()) where next.arrival >= windowStart && next.arrival < windowEnd {
            maxAge = max(maxAge, next.arrival - previous.lastUpdated)
        }
        if let last = steady.last(where: { $0.arrival < windowEnd }) { maxAge = max(maxAge, windowEnd - last.lastUpdated) }
        #expect(maxAge <= 15, "oldest last-updated seen: \(maxAge) s")

        // Steps (sim-1): every jump of more than 5 % between stored samples is published within 2 s.
        let samples = try await sqliteRows(
            database, "SELECT ts, watts FROM power WHERE node = 'sim-1' AND ts >= \(windowStart) AND ts < \(windowEnd - 3) ORDER BY ts")
            .compactMap { row -> (Double, Double)? in
                guard row.count == 2, let ts = Double(row[0]), let watts = Double(row[1]) else { return nil }
                return (ts, watts)
            }
        let stepWrites = Self.writes(requests, node: "sim-1")
        var latencies: [Double] = []
        for (previous, sample) in zip(samples, samples.dropFirst()) where abs(sample.1 - previous.1) > 0.05 * previous.1 {
            let published = stepWrites.first { $0.arrival >= sample.0 && abs($0.watts - sample.1) <= 0.05 * sample.1 }
            latencies.append(published.map { $0.arrival - sample.0 } ?? .infinity)
        }
        #expect(latencies.count >= 4, "steps seen: \(latencies.count)")
        #expect(latencies.allSatisfy { $0 <= 2 }, "step publication latencies: \(latencies)")

        // Outage: every node has a stored sample in every second the API server was down.
        let outageRows = try await sqliteRows(
            database,
            "SELECT node, count(DISTINCT CAST(ts AS INTEGER)) FROM power WHERE ts >= \(ceil(downAt)) AND ts < \(floor(upAt)) GROUP BY node ORDER BY node")
        let expectedSeconds = Int(floor(upAt) - ceil(downAt))
        #expect(outageRows == ["sim-0", "sim-1", "sim-2"].map { [$0, "\(expectedSeconds)"] }, "ticks per node during the outage")
        #expect(requests.filter { $0.time > downAt + 0.5 && $0.time < upAt - 0.5 }.isEmpty, "the server was down")
        for node in ["sim-0", "sim-1", "sim-2"] {
            #expect(Self.writes(requests, node: node).contains { $0.arrival > upAt }, "\(node) resumed publishing")
        }
        let exposition = String(decoding: metrics.body, as: UTF8.self)
        #expect(exposition.contains(#"energy_monitor_annotation_patches_total{node="sim-0",result="error"}"#))
        #expect(!exposition.contains(#"energy_monitor_annotation_patches_total{node="sim-0",result="ok"} 0"#))

        let fluctuating = Self.writes(requests, node: "sim-2").filter { $0.arrival >= windowStart && $0.arrival < windowEnd }.count
        let stepsPerMinute = stepWrites.filter { $0.arrival >= windowStart && $0.arrival < windowEnd }.count
        let resumeDelays = ["sim-0", "sim-1", "sim-2"].compactMap { node in
            Self.writes(requests, node: node).first { $0.arrival > upAt }.map { String(format: "%.1f", $0.arrival - upAt) }
        }
        print(
            "annotation writes per node per minute: steady=\(steadyInWindow.count) step-wave=\(stepsPerMinute) generic=\(fluctuating);",
            "max last-updated age \(String(format: "%.1f", maxAge)) s; step latencies",
            latencies.map { String(format: "%.2f", $0) }, "s; resumed after outage in", resumeDelays, "s")
    }
}

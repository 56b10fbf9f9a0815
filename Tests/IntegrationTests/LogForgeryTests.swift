import CurlClient
import Foundation
import Scoring
import TestSupport
import Testing

/// No outside input can split a log line: every line the binary writes starts with its own
/// timestamp, whatever a pod's annotations or labels carry.
@Suite("Log lines from outside input")
struct LogForgeryTests {
    /// What starts every line of swift-log's stream handler: `2026-12-06T22:50:05+0000 `.
    static func isLogLine(_ line: Substring) -> Bool {
        let prefix = Array(line.utf8.prefix(25))
        guard prefix.count == 25 else { return false }
        let digits: Set<Int> = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23]
        for (index, byte) in prefix.enumerated() {
            if digits.contains(index) {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            }
        }
        return prefix[4] == UInt8(ascii: "-") && prefix[10] == UInt8(ascii: "T") && prefix[24] == UInt8(ascii: " ")
    }

    @Test("a pod's weight annotation and profile label with line breaks stay inside the extender's one log line")
    func extenderDiagnostics() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("log-forgery")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = TestEnvironment.freePorts(1)
        let extender = try ChildProcess(
            TestPaths.binary,
            [
                "extender", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--listen", "127.0.0.1:\(port)",
                "--log-level", "debug",
            ], in: folder, name: "extender")
        defer { extender.end() }
        let url = "http://127.0.0.1:\(port)"
        let up = await eventually(within: .seconds(20)) { await TestEnvironment.get(url + "/healthz")?.status == 200 }
        try #require(up, "extender: \(extender.stderr)")
        let forged =
            "\n2026-01-01T00:00:00+0000 error energy-monitor: error=database or disk is full [Store] forged\r\u{1B}[2K"
        let args = ExtenderArgs(
            pod: ExtenderPod(
                metadata: ObjectMetadata(
                    name: "forger",
                    labels: ["app": "ml-workflow", "workload-profile": "training" + forged],
                    annotations: ["scheduler.policy/performance-weight": "0.5" + forged]
                )
            ),
            nodes: ExtenderNodeList(items: ["tvpc", "wyse", "rpi"].map { ExtenderNode(name: $0) }),
            nodeNames: nil
        )
        let client = CurlMultiClient()
        defer { client.shutdown() }
        let response = try await client.perform(
            HTTPRequest(
                url: url + "/scheduler/prioritize", method: "POST", headers: ["Content-Type: application/json"],
                body: Array(try JSONEncoder().encode(args))))
        #expect(response.status == 200)
        // The diagnostics about the bad weight and the unknown profile were logged...
        let logged = await eventually(within: .seconds(10)) { extender.stderr.contains("forged") }
        #expect(logged, "nothing about the pod was logged: \(extender.stderr.suffix(1000))")
        extender.stop()
        // ...each on its own line, the forged text escaped inside it.
        let lines = extender.stderr.split(separator: "\n")
        for line in lines {
            #expect(Self.isLogLine(line), "a line not written by the logger: \(line)")
            #expect(!line.contains("\u{1B}") && !line.contains("\r"), "a control character reached the log: \(line)")
            #expect(!line.hasPrefix("2026-01-01T00:00:00+0000"), "a forged line: \(line)")
        }
        #expect(lines.contains { $0.contains("\\n2026-01-01T00:00:00+0000 error energy-monitor") })
    }

    @Test("a plug whose /shelly model carries a line break and a fake log line: the monitor's log keeps it in one line")
    func plugModel() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("log-forgery-plug")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = TestEnvironment.freePorts(1)
        let listen = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "1", "--port", "\(port)", "--generations", "2", "--fault", "0=forged-log",
                "--write-config", folder + "/config.yaml", "--database", folder + "/energy.db",
                "--listen", "127.0.0.1:\(listen)",
            ], in: folder, name: "simulate")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        defer { monitor.end() }
        let detected = await eventually(within: .seconds(30)) { monitor.stderr.contains("detected plug") }
        #expect(detected, "\(monitor.stderr.suffix(1000))")
        monitor.stop()
        let lines = monitor.stderr.split(separator: "\n")
        #expect(lines.contains { $0.contains("detected plug") && $0.contains("forged") })
        for line in lines {
            #expect(Self.isLogLine(line), "a line not written by the logger: \(line)")
            #expect(!line.hasPrefix("2026-01-01T00:00:00+0000"), "a forged line: \(line)")
            #expect(!line.contains("\u{1B}") && !line.contains("\r"), "a control character reached the log: \(line)")
        }
    }
}

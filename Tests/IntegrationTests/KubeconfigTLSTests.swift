import Foundation
import Testing
import TestSupport

/// What the commands and the service do with a kubeconfig that weakens TLS: `http://` is
/// refused at start, `insecure-skip-tls-verify: true` works with one warning at start.
@Suite("Kubeconfig TLS", .serialized)
struct KubeconfigTLSTests {
    /// A kubeconfig for `server` with `cluster` as the cluster's extra settings.
    static func writeKubeconfig(server: String, cluster: String = "", in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("kubeconfig-\(UUID().uuidString.prefix(6))").path
        try """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [{name: fake, cluster: {server: "\(server)"\(cluster)}}]
            users: [{name: tester, user: {token: t}}]
            contexts: [{name: test, context: {cluster: fake, user: tester}}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func warnings(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains("warning") && $0.contains("insecure-skip-tls-verify") }
    }

    @Test("score --from-cluster with insecure-skip-tls-verify reads the cluster and warns once on standard error")
    func commandWarnsOnce() async throws {
        try TestPaths.requireBinary()
        let server = try FakeAPIServer()
        defer { server.stop() }
        let directory = server.certificates.directory
        let kubeconfig = try Self.writeKubeconfig(server: server.url, cluster: ", insecure-skip-tls-verify: true", in: directory)
        let now = Int(Date().timeIntervalSince1970)
        let list = #"{"kind":"NodeList","items":[{"metadata":{"name":"tvpc","annotations":{"#
            + #""energy.thesis.io/current-watts":"61.25","energy.thesis.io/last-updated":"\#(now)"}}}]}"#
        try await server.script(status: 200, body: list, match: "/api/v1/nodes")
        let result = try await runBinary(
            ["score", "--from-cluster", "--kubeconfig", kubeconfig, "--knowledge-base", TestPaths.knowledgeBaseManifest,
             "--profile", "training", "--weight", "0.5", "--format", "csv"],
            timeout: .seconds(30)
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tvpc"), "\(result.stdout)")
        #expect(Self.warnings(result.stderr).count == 1, "\(result.stderr)")
        #expect(!result.stdout.contains("insecure"), "the warning went to standard output")
    }

    @Test("run with insecure-skip-tls-verify publishes annotations and warns once at start")
    func serviceWarnsOnce() async throws {
        try TestPaths.requireBinary()
        let server = try FakeAPIServer()
        defer { server.stop() }
        let directory = server.certificates.directory
        let kubeconfig = try Self.writeKubeconfig(server: server.url, cluster: ", insecure-skip-tls-verify: true", in: directory)
        let ports = TestEnvironment.freePorts(2)
        let config = directory.appendingPathComponent("monitor.yaml").path
        let simulator = try ChildProcess(
            TestPaths.binary,
            ["simulate", "--plugs", "1", "--port", "\(ports)", "--write-config", config,
             "--database", directory.appendingPathComponent("energy.db").path, "--listen", "127.0.0.1:\(ports + 1)"],
            in: directory.path, name: "simulator")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.output)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: config))
        handle.seekToEndOfFile()
        handle.write(Data("kubernetes:\n  annotate: true\n  kubeconfig: \(kubeconfig)\n".utf8))
        try handle.close()
        let monitor = try ChildProcess(TestPaths.binary, ["run", "--config", config], in: directory.path, name: "monitor")
        defer { monitor.end() }
        let published = await eventually(within: .seconds(30)) {
            (try? await server.annotations())?["sim-0"] != nil
        }
        #expect(published, "no annotation written: \(monitor.stderr.suffix(1500))")
        // A few more ticks and heartbeats: still the one warning from the start.
        try await Task.sleep(for: .seconds(2))
        #expect(Self.warnings(monitor.stderr).count == 1, "\(monitor.stderr.suffix(1500))")
    }

    @Test("an http:// API server is refused at start with one line", arguments: ["score", "run"])
    func plainHTTPRefused(command: String) async throws {
        try TestPaths.requireBinary()
        let directory = try TemporaryDirectory()
        let kubeconfig = try Self.writeKubeconfig(server: "http://127.0.0.1:8080", in: directory.url)
        let arguments: [String]
        if command == "score" {
            arguments = ["score", "--from-cluster", "--kubeconfig", kubeconfig, "--knowledge-base", TestPaths.knowledgeBaseManifest,
                         "--profile", "training", "--weight", "0.5"]
        } else {
            let config = try directory.write(
                """
                database: energy.db
                listen: 127.0.0.1:\(TestEnvironment.freePorts(1))
                plugs: [{node: tvpc, address: 127.0.0.1:9}]
                kubernetes: {annotate: true, kubeconfig: \(kubeconfig)}
                """, to: "monitor.yaml")
            arguments = ["run", "--config", config]
        }
        let result = try await runBinary(arguments, timeout: .seconds(20))
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("clusters[fake].cluster.server: must be an https:// URL, not \"http://127.0.0.1:8080\""),
                "\(result.stderr)")
    }
}

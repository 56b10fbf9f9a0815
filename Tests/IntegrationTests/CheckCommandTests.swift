import ClusterSimulator
import Foundation
import JSON
import TestSupport
import Testing

/// `energy-monitor check`, the real binary, against the cluster simulator behind a TLS relay
/// (an ordinary kubeconfig), and the trust it places in a kubeconfig's CA.
@Suite("energy-monitor check", .serialized)
struct CheckCommandTests {
    /// Whether this machine lets a test give a process its own /etc/ssl/certs (a user and
    /// mount namespace).
    static let namespacesAvailable: Bool = {
        guard let unshare = Tools.find("unshare") else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: unshare)
        process.arguments = ["--user", "--map-root-user", "--mount", "true"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static func withInstallation<T>(
        _ installation: CheckedInstallation, _ body: (String) async throws -> T
    ) async throws -> T {
        let simulator = ClusterSimulator(
            configuration: installation.configuration,
            lifecycle: ScriptedLifecycle(
                placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) }))
        let port = try await simulator.start()
        let refresher = installation.keepPowerFresh(simulator)
        defer { refresher.cancel() }
        let relay = try TLSRelay(backend: port)
        do {
            let result = try await body(try relay.writeKubeconfig(token: nil))
            relay.stop()
            await simulator.stop()
            return result
        } catch {
            relay.stop()
            await simulator.stop()
            throw error
        }
    }

    @Test("a healthy installation: every check ok, exit 0; --output json for scripts")
    func healthy() async throws {
        try TestPaths.requireBinary()
        try await Self.withInstallation(CheckedInstallation()) { kubeconfig in
            let result = try await runProcess(
                TestPaths.binary, ["check", "--kubeconfig", kubeconfig, "--output", "json"], timeout: .seconds(120))
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let report = try #require(JSONValue.parse(Array(result.stdout.utf8)), "\(result.stdout)")
            #expect(report["ok"] == 12, "\(result.stdout)")
            #expect(report["fail"] == 0)
            #expect(report["checks"]?.array?.first?["name"] == "api-server")

            let text = try await runProcess(
                TestPaths.binary, ["check", "--kubeconfig", kubeconfig], timeout: .seconds(120))
            #expect(text.status == 0)
            let lines = text.stdout.split(separator: "\n")
            #expect(lines.count == 13, "\(text.stdout)")
            #expect(
                lines.first?.hasPrefix("ok    api-server: reachable at https://127.0.0.1:") == true, "\(text.stdout)")
            #expect(lines.last == "12 checks: 12 ok, 0 warn, 0 fail")
        }
    }

    @Test("a failing check: its line says fail with the fix, and the exit status is 1")
    func failing() async throws {
        try TestPaths.requireBinary()
        var installation = CheckedInstallation()
        installation.plugs.append("ghost")
        try await Self.withInstallation(installation) { kubeconfig in
            let result = try await runProcess(
                TestPaths.binary, ["check", "--kubeconfig", kubeconfig], timeout: .seconds(120))
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            #expect(
                result.stdout.contains(
                    "fail  plug-nodes: plugs name nodes the cluster does not have: ghost; fix: plugs[].node must be a name kubectl get nodes shows"
                ),
                "\(result.stdout)")
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
        // A kubeconfig that cannot be used is a failed check too, in the same form.
        let result = try await runProcess(
            TestPaths.binary, ["check", "--kubeconfig", "/nonexistent/kubeconfig", "--output", "json"],
            timeout: .seconds(60))
        #expect(result.status == 1)
        let report = try #require(JSONValue.parse(Array(result.stdout.utf8)), "\(result.stdout)")
        #expect(report["checks"]?[0]?["status"] == "fail")
        #expect(report["checks"]?[0]?["message"]?.string?.contains("/nonexistent/kubeconfig") == true)
    }

    @Test(
        "a kubeconfig's certificate-authority is the only CA trusted: a server the system's CA directory vouches for is refused",
        .enabled(if: namespacesAvailable, "unshare cannot make a user and mount namespace here"))
    func onlyTheClusterCA() async throws {
        try TestPaths.requireBinary()
        let server = try FakeAPIServer(identity: .otherCA)
        defer { server.stop() }
        try await server.script(
            status: 200, body: #"{"major":"1","minor":"33","gitVersion":"v1.33.4"}"#, match: "/version", times: 10)
        let certificates = server.certificates
        // A CA directory in which the unrelated CA is trusted, as a public CA is in the system's.
        let trusted = certificates.path("system-certs")
        try FileManager.default.createDirectory(atPath: trusted, withIntermediateDirectories: true)
        let hash = try await runProcess("openssl", ["x509", "-hash", "-noout", "-in", certificates.otherCACertificate])
        try FileManager.default.copyItem(
            atPath: certificates.otherCACertificate,
            toPath: "\(trusted)/\(hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).0")
        try FileManager.default.copyItem(
            atPath: certificates.otherCACertificate, toPath: "\(trusted)/ca-certificates.crt")
        let clusterCA = try server.writeKubeconfig(token: "t", name: "with-ca")
        let systemCA = certificates.path("without-ca")
        try String(contentsOfFile: clusterCA, encoding: .utf8)
            .replacingOccurrences(of: ", certificate-authority: ca.crt", with: "")
            .write(toFile: systemCA, atomically: true, encoding: .utf8)
        func check(_ kubeconfig: String) async throws -> JSONValue? {
            let result = try await runProcess(
                "unshare",
                [
                    "--user", "--map-root-user", "--mount", "sh", "-c",
                    "mount --bind \"$1\" /etc/ssl/certs && exec \"$2\" check --kubeconfig \"$3\" --output json",
                    "sh", trusted, TestPaths.binary, kubeconfig,
                ], timeout: .seconds(60))
            return JSONValue.parse(Array(result.stdout.utf8))?["checks"]?[0]
        }
        // Without a CA of its own the system's directory decides: the server is trusted ...
        let system = try await check(systemCA)
        #expect(system?["message"]?.string?.contains("reachable") == true, "\(String(describing: system))")
        // ... with the cluster's CA, only that one counts.
        let cluster = try await check(clusterCA)
        #expect(cluster?["status"] == "fail", "\(String(describing: cluster))")
        #expect(cluster?["message"]?.string?.contains("TLS failure") == true, "\(String(describing: cluster))")
    }
}

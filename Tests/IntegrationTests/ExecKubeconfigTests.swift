import ClusterSimulator
import Foundation
import JSON
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real binary with a cloud-style kubeconfig: the user is an exec credential plugin (a
/// shell script), and the API stand-in accepts no token but the one the plugin prints.
@Suite("Exec-plugin kubeconfigs through the binary", .serialized)
struct ExecKubeconfigTests {
    static let token = "plugin-issued-token-7f3a"

    /// A plugin as `aws eks get-token` is one: prints an ExecCredential with a token read
    /// from `token` beside it (or fails when there is none), and counts its runs.
    static let plugin = """
        #!/bin/sh
        folder=$(dirname "$0")
        echo run >> "$folder/runs"
        [ -n "$KUBERNETES_EXEC_INFO" ] || { echo "no KUBERNETES_EXEC_INFO" >&2; exit 4; }
        if [ ! -s "$folder/token" ]; then echo "error: the SSO session has expired; run aws sso login" >&2; exit 255; fi
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\\n' \\
            "$(cat "$folder/token")"
        """

    /// Starts the installation behind a TLS relay that demands `token`, writes the plugin and a
    /// kubeconfig whose user runs it, and hands `body` the kubeconfig and the plugin's folder.
    static func withExecKubeconfig(_ body: (String, String) async throws -> Void) async throws {
        let installation = CheckedInstallation()
        var configuration = installation.configuration
        configuration.token = token
        let simulator = ClusterSimulator(
            configuration: configuration,
            lifecycle: ScriptedLifecycle(
                placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) }))
        let port = try await simulator.start()
        let refresher = installation.keepPowerFresh(simulator)
        defer { refresher.cancel() }
        let relay = try TLSRelay(backend: port)
        defer { relay.stop() }
        let folder = relay.certificates.directory.path
        let script = "\(folder)/get-token"
        try plugin.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let kubeconfig = "\(folder)/exec-kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        current-context: cloud
        clusters: [{name: sim, cluster: {server: "\(relay.url)", certificate-authority: ca.crt}}]
        contexts: [{name: cloud, context: {cluster: sim, user: sso}}]
        users:
          - name: sso
            user:
              exec:
                apiVersion: client.authentication.k8s.io/v1
                command: ./get-token
                args: [eks, get-token, --cluster-name, sim]
                interactiveMode: Never
                provideClusterInfo: true
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        do {
            try await body(kubeconfig, folder)
        } catch {
            await simulator.stop()
            throw error
        }
        await simulator.stop()
    }

    /// `score --from-cluster` through the kubeconfig.
    static func score(_ kubeconfig: String) -> [String] {
        [
            "score", "--from-cluster", "--kubeconfig", kubeconfig, "--knowledge-base", TestPaths.knowledgeBaseManifest,
            "--profile", "training", "--weight", "0.5",
        ]
    }

    static func runs(_ folder: String) -> Int {
        ((try? String(contentsOfFile: "\(folder)/runs", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test("check with an exec-plugin user: the plugin's token is the only one accepted, and every check passes")
    func pluginToken() async throws {
        try TestPaths.requireBinary()
        try await Self.withExecKubeconfig { kubeconfig, folder in
            try Self.token.write(toFile: "\(folder)/token", atomically: true, encoding: .utf8)
            let result = try await runProcess(
                TestPaths.binary, ["check", "--kubeconfig", kubeconfig, "--output", "json"], timeout: .seconds(120))
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let report = try #require(JSONValue.parse(Array(result.stdout.utf8)), "\(result.stdout)")
            #expect(report["fail"] == 0, "\(result.stdout)")
            #expect(report["checks"]?[0]?["status"] == "ok", "\(result.stdout)")
            // The credential has no expiry: one run serves every request of the process.
            #expect(Self.runs(folder) == 1)
            let score = try await runProcess(TestPaths.binary, Self.score(kubeconfig), timeout: .seconds(60))
            #expect(score.status == 0, "\(score.stderr)")
            #expect(score.stdout.contains("tvpc"), "\(score.stdout)")
            #expect(Self.runs(folder) == 2)

            // Another token (a plugin logged in elsewhere): the stand-in answers 401, the
            // plugin is asked once more, and the check fails in one line.
            try "someone-elses-token".write(toFile: "\(folder)/token", atomically: true, encoding: .utf8)
            let refused = try await runProcess(
                TestPaths.binary, ["check", "--kubeconfig", kubeconfig, "--output", "json"], timeout: .seconds(120))
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            let first = try #require(JSONValue.parse(Array(refused.stdout.utf8))?["checks"]?[0], "\(refused.stdout)")
            #expect(first["status"] == "fail")
            #expect(first["message"]?.string?.contains("401") == true, "\(first)")
            #expect(Self.runs(folder) == 4, "a run for the first request, one more after the 401")
        }
    }

    @Test("a plugin that fails: score and check say so in one line with the plugin's own words, no hang")
    func pluginFails() async throws {
        try TestPaths.requireBinary()
        try await Self.withExecKubeconfig { kubeconfig, folder in
            let score = try await runProcess(TestPaths.binary, Self.score(kubeconfig), timeout: .seconds(60))
            #expect(score.status != 0)
            #expect(score.stderr.split(separator: "\n").count == 1, "\(score.stderr)")
            #expect(score.stderr.contains("get-token"), "\(score.stderr)")
            #expect(score.stderr.contains("aws sso login"), "\(score.stderr)")
            let check = try await runProcess(
                TestPaths.binary, ["check", "--kubeconfig", kubeconfig, "--output", "json"], timeout: .seconds(60))
            #expect(check.status == 1)
            let first = try #require(JSONValue.parse(Array(check.stdout.utf8))?["checks"]?[0], "\(check.stdout)")
            #expect(first["status"] == "fail")
            #expect(first["message"]?.string?.contains("aws sso login") == true, "\(first)")
            #expect(Self.runs(folder) >= 2)
        }
    }
}

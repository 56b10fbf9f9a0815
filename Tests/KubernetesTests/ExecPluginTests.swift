import CurlClient
import Foundation
import JSON
import Logging
import Testing
import TestSupport

@testable import Kubernetes

#if canImport(Glibc)
    import Glibc
#endif

/// Exec credential plugins run for real (a Python script), against an API stand-in that
/// accepts only the plugin's token: cached until expiry, fetched again after a 401, a client
/// certificate instead of a token, and every way a plugin can fail as one line and a bounded
/// wait.
@Suite("Exec credential plugins", .serialized)
struct ExecPluginTests {
    /// The plugin: counts its runs, keeps what it was given, answers with the token in a file
    /// (or the test client certificate), as `MODE` says.
    static let plugin = """
        #!/usr/bin/env python3
        import json, os, sys, time
        folder = os.environ["PLUGIN_FOLDER"]
        with open(os.path.join(folder, "runs"), "a") as runs:
            runs.write(" ".join(sys.argv[1:]) + "\\n")
        with open(os.path.join(folder, "exec-info"), "w") as info:
            info.write(os.environ.get("KUBERNETES_EXEC_INFO", ""))
        mode = open(os.path.join(folder, "mode")).read().strip()
        status = {}
        if mode == "fail":
            sys.stderr.write("loading profile lab\\nerror: no credentials for profile lab\\n")
            sys.exit(3)
        if mode == "hang":
            sys.stdout.flush()
            os.execvp("sh", ["sh", "-c", "sleep 299.7; echo late"])
        if mode == "certificate":
            status["clientCertificateData"] = open(os.path.join(folder, "client.crt")).read()
            status["clientKeyData"] = open(os.path.join(folder, "client.key")).read()
        else:
            status["token"] = open(os.path.join(folder, "token")).read().strip()
        expires = open(os.path.join(folder, "expires")).read().strip()
        if expires:
            status["expirationTimestamp"] = expires
        version = "client.authentication.k8s.io/v1beta1" if mode == "wrong-version" else "client.authentication.k8s.io/v1"
        print(json.dumps({"apiVersion": version, "kind": "ExecCredential", "status": status}))
        """

    /// A fake API server, a plugin script beside its certificates and a kubeconfig using it.
    struct Setup {
        let server: FakeAPIServer
        let folder: String
        let kubeconfig: String

        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8)
        }

        var runs: [String] {
            ((try? String(contentsOfFile: "\(folder)/runs", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    static func withSetup(command: String? = nil, _ body: (Setup, CurlMultiClient) async throws -> Void) async throws {
        let server = try FakeAPIServer()
        let http = CurlMultiClient()
        defer {
            http.shutdown()
            server.stop()
        }
        let folder = server.certificates.directory.path
        let script = "\(folder)/get-token"
        try Self.plugin.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let kubeconfig = "\(folder)/kubeconfig"
        try """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [{name: fake, cluster: {server: "\(server.url)", certificate-authority: ca.crt}}]
            contexts: [{name: test, context: {cluster: fake, user: plugin}}]
            users:
              - name: plugin
                user:
                  exec:
                    apiVersion: client.authentication.k8s.io/v1
                    command: \(command ?? "./get-token")
                    args: [token, --cluster, fake]
                    env: [{name: PLUGIN_FOLDER, value: "\(folder)"}]
                    interactiveMode: Never
                    provideClusterInfo: true
                    installHint: "install it with: pip install fake-token-plugin"
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let setup = Setup(server: server, folder: folder, kubeconfig: kubeconfig)
        try setup.write("mode", "token")
        try setup.write("token", "first-token")
        try setup.write("expires", "")
        try await server.requireTokens(["first-token"], unauthorizedBody: nil)
        try await body(setup, http)
    }

    static func client(_ connection: KubernetesConnection, _ http: CurlMultiClient) -> KubernetesClient {
        var logger = Logger(label: "exec-test")
        logger.logLevel = .critical
        return KubernetesClient(connection: connection, http: http, logger: logger)
    }

    @Test("the plugin's token is sent, kept for later requests, and fetched again after a 401; the plugin gets its arguments, environment and KUBERNETES_EXEC_INFO")
    func tokenCachedAndRenewed() async throws {
        try await Self.withSetup { setup, http in
            let client = Self.client(try KubernetesConnection.kubeconfig(path: setup.kubeconfig), http)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "2"]) == .ok)
            #expect(setup.runs == ["token --cluster fake"], "one run for both requests")
            let info = try #require(JSONValue.parse(Array(try String(contentsOfFile: "\(setup.folder)/exec-info", encoding: .utf8).utf8)))
            #expect(info["kind"] == "ExecCredential")
            #expect(info["apiVersion"] == "client.authentication.k8s.io/v1")
            #expect(info["spec"]?["interactive"] == false)
            #expect(info["spec"]?["cluster"]?["server"]?.string == setup.server.url)
            #expect(info["spec"]?["cluster"]?["certificate-authority-data"]?.string?.isEmpty == false)

            // The credentials rotate: the server refuses the old token, the plugin has a new one.
            try await setup.server.requireTokens(["second-token"], unauthorizedBody: nil)
            try setup.write("token", "second-token")
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "3"]) == .ok)
            #expect(setup.runs.count == 2)
            let tokens = try await setup.server.requests().map(\.token)
            #expect(tokens == ["first-token", "first-token", "first-token", "second-token"], "\(tokens)")
            let statuses = try await setup.server.requests().map(\.status)
            #expect(statuses == [200, 200, 401, 200])
        }
    }

    @Test("a credential past its expirationTimestamp is fetched again before the next request")
    func expiry() async throws {
        try await Self.withSetup { setup, http in
            try setup.write("expires", "2020-01-01T00:00:00Z")
            let client = Self.client(try KubernetesConnection.kubeconfig(path: setup.kubeconfig), http)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "2"]) == .ok)
            #expect(setup.runs.count == 2)
            let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            try setup.write("expires", later)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "3"]) == .ok)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "4"]) == .ok)
            #expect(setup.runs.count == 3)
        }
    }

    @Test("a client certificate from the plugin authenticates the connection")
    func clientCertificate() async throws {
        try await Self.withSetup { setup, http in
            try setup.write("mode", "certificate")
            let client = Self.client(try KubernetesConnection.kubeconfig(path: setup.kubeconfig), http)
            #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
            let request = try #require(try await setup.server.requests().last)
            #expect(request.client_cn == "energy-monitor-test")
            #expect(request.token == nil)
        }
    }

    @Test("a plugin that fails, hangs, is missing or answers in another version: one line, never a hang")
    func failures() async throws {
        try await Self.withSetup { setup, http in
            var connection = try KubernetesConnection.kubeconfig(path: setup.kubeconfig)
            try setup.write("mode", "fail")
            let failed = await Self.client(connection, http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(
                failed
                    == .credentials(
                        "exec plugin \(setup.folder)/get-token: failed with exit code 3: error: no credentials for profile lab"),
                "\(failed)")
            #expect(!failed.description.contains("\n"))

            try setup.write("mode", "wrong-version")
            let wrong = await Self.client(connection, http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(wrong.description.contains("answered with apiVersion \"client.authentication.k8s.io/v1beta1\""), "\(wrong)")

            try setup.write("mode", "hang")
            guard case .exec(var plugin) = connection.credentials else { throw TestSupportError("not exec") }
            plugin.timeout = .seconds(2)
            connection.credentials = .exec(plugin)
            let started = ContinuousClock.now
            let hung = await Self.client(connection, http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(hung.description.contains("did not finish within 2 s and was stopped"), "\(hung)")
            #expect(ContinuousClock.now - started < .seconds(20))
            // The plugin's own child went with it (its process group was killed).
            #expect(await eventually(within: .seconds(10)) {
                (try? await runProcess("pgrep", ["-f", "sleep 299.7"]))?.status == 1
            })
            // Nothing was sent without credentials.
            #expect(try await setup.server.requests().isEmpty)
        }
        try await Self.withSetup(command: "energy-monitor-test-no-such-plugin") { setup, http in
            let missing = await Self.client(try KubernetesConnection.kubeconfig(path: setup.kubeconfig), http)
                .patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(
                missing
                    == .credentials(
                        "exec plugin energy-monitor-test-no-such-plugin: executable not found (is it installed and on PATH?): "
                            + "install it with: pip install fake-token-plugin"), "\(missing)")
        }
    }
}

import Foundation
import Logging
import Testing
import TestSupport

@testable import Kubernetes

@Suite("Loading a KubernetesConnection")
struct KubernetesConnectionTests {
    private func parse(_ yaml: String, context: String? = nil) throws(KubernetesConfigurationError) -> KubernetesConnection {
        try KubernetesConnection.parseKubeconfig(yaml: yaml, path: "/etc/kube/config", baseDirectory: "/etc/kube", context: context)
    }

    private let base = """
        current-context: a
        clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443"}}]
        contexts: [{name: a, context: {cluster: c, user: u}}]

        """

    @Test("verification stays on unless insecure-skip-tls-verify is true")
    func verificationDefault() throws {
        let connection = try parse(base + "users: [{name: u, user: {token: abc}}]")
        #expect(connection.server == "https://10.0.0.1:6443")
        #expect(!connection.tls.insecureSkipVerify)
        #expect(connection.credentials == .token("abc"))
        #expect(!"\(connection.credentials)".contains("abc"))
        let explicitFalse = try parse(
            base.replacingOccurrences(of: "server: \"https://10.0.0.1:6443\"", with: "server: \"https://10.0.0.1:6443\", insecure-skip-tls-verify: false")
                + "users: [{name: u, user: {token: abc}}]")
        #expect(!explicitFalse.tls.insecureSkipVerify)
    }

    @Test(
        "unusable kubeconfigs are refused with the key in the message",
        arguments: [
            ("users: [{name: u, user: {auth-provider: {name: gcp}}}]", "users[u].user.auth-provider: \"gcp\" is an auth provider, which client-go removed; use an exec plugin instead: gke-gcloud-auth-plugin"),
            ("users: [{name: u, user: {auth-provider: {name: oidc}}}]", "kubectl oidc-login"),
            ("users: [{name: u, user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}}}]", "users[u].user.exec.interactiveMode: missing"),
            ("users: [{name: u, user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1alpha1}}}]", "v1alpha1\" is not supported"),
            ("users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1}}}]", "users[u].user.exec.command: missing"),
            ("users: [{name: u, user: {username: admin, password: abc}}]", "users[u].user.username: is not supported"),
            ("users: [{name: u, user: {token: abc, as-groups: [a]}}]", "users[u].user.as: missing"),
            ("users: [{name: u, user: {client-certificate-data: QUJD}}]", "client-key must be given together"),
            ("users: [{name: u, user: {token: abc}}]\nextra: [", "not valid YAML"),
            ("users: []", "no entry named \"u\""),
        ])
    func refused(users: String, expected: String) {
        #expect {
            try parse(base + users)
        } throws: { error in
            "\(error)".contains(expected) && !"\(error)".contains("abc")
        }
    }

    @Test(
        "a server that is not https is refused with the key: the token and the patches would travel in the clear",
        arguments: ["http://10.0.0.1:8080", "10.0.0.1:6443", "ftp://10.0.0.1"])
    func plainServerRefused(server: String) {
        let yaml = base.replacingOccurrences(of: "https://10.0.0.1:6443", with: server) + "users: [{name: u, user: {token: abc}}]"
        #expect(throws: KubernetesConfigurationError(
            "kubeconfig /etc/kube/config: clusters[c].cluster.server: must be an https:// URL, not \"\(server)\"")) {
            try parse(yaml)
        }
    }

    @Test("resolve warns once when TLS verification is off, and never when it is on")
    func insecureWarning() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-insecure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let verified = directory.appendingPathComponent("verified").path
        let insecure = directory.appendingPathComponent("insecure").path
        try (base + "users: [{name: u, user: {token: abc}}]").write(toFile: verified, atomically: true, encoding: .utf8)
        try (base.replacingOccurrences(of: "\"https://10.0.0.1:6443\"", with: "\"https://10.0.0.1:6443\", insecure-skip-tls-verify: true")
            + "users: [{name: u, user: {token: abc}}]").write(toFile: insecure, atomically: true, encoding: .utf8)
        for (path, warnings) in [(verified, 0), (insecure, 1)] {
            let recorder = LogRecorder()
            let connection = try KubernetesConnection.resolve(
                kubeconfig: path, context: nil, logger: Logger(label: "test") { _ in recorder })
            #expect(connection.tls.insecureSkipVerify == (warnings == 1))
            #expect(recorder.entries.count == warnings, "\(recorder.entries.map(\.message))")
            if let entry = recorder.entries.first {
                #expect(entry.level == .warning)
                #expect(entry.message.contains("insecure-skip-tls-verify: true"))
                #expect(entry.metadata["server"] == "https://10.0.0.1:6443")
                #expect(!entry.message.contains("abc") && !entry.metadata.values.contains { $0.contains("abc") })
            }
        }
    }

    @Test("an unknown context and insecure-skip-tls-verify with a CA are refused")
    func contextAndInsecure() {
        #expect(throws: KubernetesConfigurationError.self) { try parse(base + "users: [{name: u, user: {token: x}}]", context: "nope") }
        let insecureWithCA = """
            current-context: a
            clusters: [{name: c, cluster: {server: "https://h", insecure-skip-tls-verify: true, certificate-authority-data: QUJD}}]
            contexts: [{name: a, context: {cluster: c, user: u}}]
            users: [{name: u, user: {token: x}}]
            """
        #expect { try parse(insecureWithCA) } throws: { "\($0)".contains("insecure-skip-tls-verify") }
    }

    @Test("automatic: in-cluster when its environment and files exist, else the first $KUBECONFIG entry")
    func automatic() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-auto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("first").path
        try (base + "users: [{name: u, user: {token: abc}}]").write(toFile: config, atomically: true, encoding: .utf8)
        let account = directory.appendingPathComponent("sa")
        try FileManager.default.createDirectory(at: account, withIntermediateDirectories: true)

        let environment = ["KUBECONFIG": "\(config):/nonexistent/second", "HOME": "/nonexistent"]
        let fromKubeconfig = try KubernetesConnection.automatic(environment: environment, serviceAccountDirectory: account.path)
        #expect(fromKubeconfig.origin == "kubeconfig \(config) (context a)")

        try "t".write(to: account.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try "ca".write(to: account.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        var inCluster = environment
        inCluster["KUBERNETES_SERVICE_HOST"] = "fd00::1"
        inCluster["KUBERNETES_SERVICE_PORT"] = "443"
        let connection = try KubernetesConnection.automatic(environment: inCluster, serviceAccountDirectory: account.path)
        #expect(connection.server == "https://[fd00::1]:443")
        #expect(connection.credentials == .tokenFile(account.appendingPathComponent("token").path))

        #expect(KubernetesConnection.defaultKubeconfigPath(environment: ["HOME": "/home/x"]) == "/home/x/.kube/config")
        #expect { try KubernetesConnection.automatic(environment: ["HOME": "/nonexistent"], serviceAccountDirectory: account.path) } throws: {
            "\($0)".contains("/nonexistent/.kube/config")
        }
    }

    @Test("resolve: the service's and the commands' one choice of kubeconfig, context or automatic")
    func resolve() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-resolve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let twoContexts = """
            current-context: a
            clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443"}}, {name: d, cluster: {server: "https://10.0.0.2:6443"}}]
            contexts: [{name: a, context: {cluster: c, user: u}}, {name: b, context: {cluster: d, user: u}}]
            users: [{name: u, user: {token: abc}}]
            """
        let explicit = directory.appendingPathComponent("explicit").path
        let fromEnvironment = directory.appendingPathComponent("environment").path
        try twoContexts.write(toFile: explicit, atomically: true, encoding: .utf8)
        try twoContexts.replacingOccurrences(of: "10.0.0.", with: "10.9.9.").write(toFile: fromEnvironment, atomically: true, encoding: .utf8)
        let environment = ["KUBECONFIG": fromEnvironment, "HOME": "/nonexistent"]
        let account = directory.appendingPathComponent("no-service-account").path
        func resolve(_ path: String?, _ context: String?) throws -> String {
            try KubernetesConnection.resolve(
                kubeconfig: path, context: context, logger: Logger(label: "test"), environment: environment,
                serviceAccountDirectory: account
            ).server
        }
        #expect(try resolve(explicit, nil) == "https://10.0.0.1:6443")
        #expect(try resolve(explicit, "b") == "https://10.0.0.2:6443")
        // A context alone names a context of the default kubeconfig.
        #expect(try resolve(nil, "b") == "https://10.9.9.2:6443")
        // Neither: automatic (no service account here, so $KUBECONFIG's current-context).
        #expect(try resolve(nil, nil) == "https://10.9.9.1:6443")
        #expect { try resolve(explicit, "missing") } throws: { "\($0)".contains("missing") }
    }

    @Test("Retry-After as seconds or HTTP-date; Status bodies and plain text")
    func parsing() {
        #expect(KubernetesClient.retryAfterSeconds("1") == 1)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(KubernetesClient.retryAfterSeconds("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == 5)
        #expect(KubernetesClient.retryAfterSeconds("soon") == nil)
        // delta-seconds are digits: hexadecimal, signs and non-finite words are not a wait.
        for refused in ["0x10", "-5", "+5", "nan", "inf", "1e3", ""] { #expect(KubernetesClient.retryAfterSeconds(refused) == nil, "\(refused)") }
        #expect(KubernetesClient.retryAfterSeconds("10000000000000000") == 1e16)
        #expect(KubernetesClient.retryAfterSeconds(String(repeating: "9", count: 400)) == nil)
        #expect(APIStatus(code: 500, body: Array("upstream\nbroken\n".utf8)).message == "upstream broken")
        #expect(String(decoding: KubernetesClient.mergePatchBody(annotations: ["e.io/b": "2", "e.io/a": "1"]), as: UTF8.self)
            == #"{"metadata":{"annotations":{"e.io/a":"1","e.io/b":"2"}}}"#)
    }
}

import Foundation
import JSON
import TestSupport
import Testing

@testable import Kubernetes

/// Kubeconfigs as kubectl reads them: `$KUBECONFIG` lists merged with clientcmd's
/// precedence, `tokenFile` over `token`, `tls-server-name`, `proxy-url`, impersonation and
/// exec plugins as written.
@Suite("Kubeconfigs as kubectl reads them")
struct KubeconfigTests {
    private func folder(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kubeconfig-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test(
        "$KUBECONFIG: the first file that names a cluster, user or context, or sets current-context, wins; missing files are skipped"
    )
    func mergedList() throws {
        let root = try folder("merge")
        defer { try? FileManager.default.removeItem(at: root) }
        let first = root.appendingPathComponent("a")
        let second = root.appendingPathComponent("b")
        for directory in [first, second] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try "second-ca".write(to: second.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        let firstFile = first.appendingPathComponent("config").path
        let secondFile = second.appendingPathComponent("config").path
        try """
        current-context: home
        clusters: [{name: lab, cluster: {server: "https://10.0.0.1:6443"}}]
        contexts: [{name: home, context: {cluster: lab, user: me}}]
        users: [{name: me, user: {token: from-first}}]
        """.write(toFile: firstFile, atomically: true, encoding: .utf8)
        try """
        current-context: work
        clusters:
          - {name: lab, cluster: {server: "https://10.9.9.9:6443"}}
          - {name: eks, cluster: {server: "https://eks.example:443", certificate-authority: ca.crt}}
        contexts:
          - {name: home, context: {cluster: eks, user: other}}
          - {name: work, context: {cluster: eks, user: me}}
        users:
          - {name: me, user: {token: from-second}}
          - {name: other, user: {token: other}}
        """.write(toFile: secondFile, atomically: true, encoding: .utf8)
        let paths = [root.appendingPathComponent("missing").path, firstFile, secondFile]

        let current = try KubernetesConnection.kubeconfig(paths: paths)
        #expect(current.server == "https://10.0.0.1:6443", "current-context and context home come from the first file")
        #expect(current.credentials == .token("from-first"))
        #expect(current.origin == "kubeconfig \(firstFile) (context home)")
        // Context work exists only in the second file; its user `me` is the first file's.
        let work = try KubernetesConnection.kubeconfig(paths: paths, context: "work")
        #expect(work.server == "https://eks.example:443")
        #expect(work.credentials == .token("from-first"))
        // A relative path is relative to the file that names it.
        #expect(work.tls.caFile == second.appendingPathComponent("ca.crt").path)

        let environment = ["KUBECONFIG": paths.joined(separator: ":"), "HOME": "/nonexistent"]
        #expect(KubernetesConnection.defaultKubeconfigPaths(environment: environment) == paths)
        let automatic = try KubernetesConnection.automatic(
            environment: environment, serviceAccountDirectory: root.appendingPathComponent("none").path)
        #expect(automatic.server == "https://10.0.0.1:6443")
        #expect {
            try KubernetesConnection.kubeconfig(paths: ["/nonexistent/a", "/nonexistent/b"])
        } throws: {
            "\($0)" == "kubeconfig: none of /nonexistent/a, /nonexistent/b exists (KUBECONFIG, or --kubeconfig FILE)"
        }
        #expect {
            try KubernetesConnection.kubeconfig(paths: paths, context: "nope")
        } throws: {
            "\($0)".contains("kubeconfigs \(firstFile), \(secondFile): contexts: no entry named \"nope\"")
        }
    }

    @Test(
        "tokenFile wins over token (client-go reads the file whenever it is set); tls-server-name, proxy-url, impersonation"
    )
    func userAndClusterFields() throws {
        let root = try folder("fields")
        defer { try? FileManager.default.removeItem(at: root) }
        try "file-token\n".write(to: root.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let yaml = """
            current-context: a
            clusters:
              - name: c
                cluster: {server: "https://10.0.0.1:6443", tls-server-name: kube-apiserver.test, proxy-url: "socks5://127.0.0.1:1080"}
            contexts: [{name: a, context: {cluster: c, user: u}}]
            users:
              - name: u
                user:
                  token: inline-token
                  tokenFile: token
                  as: jane
                  as-uid: "1234"
                  as-groups: [developers, "system:authenticated"]
                  as-user-extra: {scopes: [view, edit]}
            """
        let connection = try KubernetesConnection.parseKubeconfig(
            yaml: yaml, path: "/k/config", baseDirectory: root.path, context: nil)
        #expect(connection.credentials == .tokenFile(root.appendingPathComponent("token").path))
        #expect(connection.tls.serverName == "kube-apiserver.test")
        #expect(connection.proxyURL == "socks5://127.0.0.1:1080")
        #expect(KubernetesClient.curlProxy("socks5://127.0.0.1:1080") == "socks5h://127.0.0.1:1080")
        #expect(KubernetesClient.curlProxy("http://proxy:3128") == "http://proxy:3128")
        #expect(
            connection.impersonation?.headers == [
                "Impersonate-User: jane", "Impersonate-Uid: 1234", "Impersonate-Group: developers",
                "Impersonate-Group: system:authenticated", "Impersonate-Extra-scopes: view",
                "Impersonate-Extra-scopes: edit",
            ])
        for (original, replacement, message) in [
            (
                "proxy-url: \"socks5://127.0.0.1:1080\"", "proxy-url: \"ftp://proxy:21\"",
                "proxy-url: must be an http://, https:// or socks5:// URL"
            ),
            (
                "tls-server-name: kube-apiserver.test", "tls-server-name: \"evil/name\"",
                "tls-server-name: must be a host name"
            ),
        ] {
            let broken = yaml.replacingOccurrences(of: original, with: replacement)
            #expect {
                try KubernetesConnection.parseKubeconfig(
                    yaml: broken, path: "/k/config", baseDirectory: root.path, context: nil)
            } throws: { "\($0)".contains("clusters[c].cluster.\(message)") }
        }
        let injected = yaml.replacingOccurrences(of: "as: jane", with: "as: \"jane\\r\\nX-Evil: 1\"")
        #expect {
            try KubernetesConnection.parseKubeconfig(
                yaml: injected, path: "/k/config", baseDirectory: root.path, context: nil)
        } throws: { "\($0)".contains("users[u].user.as: must not contain control characters") }
    }

    @Test("exec plugins as written: command resolved against the file's folder, arguments, environment, cluster info")
    func execPlugin() throws {
        let root = try folder("exec")
        defer { try? FileManager.default.removeItem(at: root) }
        try "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n".write(
            to: root.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        let yaml = """
            current-context: eks
            clusters:
              - name: eks
                cluster:
                  server: "https://eks.example:443"
                  certificate-authority: ca.crt
                  extensions:
                    - name: client.authentication.k8s.io/exec
                      extension: {audience: sts.amazonaws.com, retries: 3}
            contexts: [{name: eks, context: {cluster: eks, user: aws}}]
            users:
              - name: aws
                user:
                  exec:
                    apiVersion: client.authentication.k8s.io/v1beta1
                    command: bin/get-token
                    args: [eks, get-token, --cluster-name, lab]
                    env: [{name: AWS_PROFILE, value: lab}, {name: EMPTY, value: null}]
                    installHint: "Install the AWS CLI: https://aws.amazon.com/cli/"
                    provideClusterInfo: true
            """
        let connection = try KubernetesConnection.parseKubeconfig(
            yaml: yaml, path: "/k/config", baseDirectory: root.path, context: nil)
        guard case .exec(let plugin) = connection.credentials else {
            Issue.record("not an exec plugin: \(connection.credentials)")
            return
        }
        #expect(plugin.command == root.appendingPathComponent("bin/get-token").path)
        #expect(plugin.arguments == ["eks", "get-token", "--cluster-name", "lab"])
        #expect(plugin.environment.map(\.name) == ["AWS_PROFILE", "EMPTY"])
        #expect(plugin.environment.map(\.value) == ["lab", ""])
        #expect(plugin.interactiveMode == .ifAvailable, "v1beta1's default")
        #expect(plugin.installHint == "Install the AWS CLI: https://aws.amazon.com/cli/")
        #expect("\(connection.credentials)" == "exec(\(plugin.command))")
        let info = try #require(JSONValue.parse(Array(plugin.execInfo(interactive: false).utf8)))
        #expect(info["apiVersion"] == "client.authentication.k8s.io/v1beta1")
        #expect(info["spec"]?["interactive"] == false)
        let cluster = try #require(info["spec"]?["cluster"])
        #expect(cluster["server"] == "https://eks.example:443")
        #expect(
            cluster["certificate-authority-data"]?.string.flatMap { Data(base64Encoded: $0) }.map {
                String(decoding: $0, as: UTF8.self)
            }?.contains("QUJD") == true)
        #expect(cluster["config"]?["audience"] == "sts.amazonaws.com")
        #expect(cluster["config"]?["retries"] == 3)
        // A bare name is looked up in PATH when it runs, as kubectl does.
        let bare = try KubernetesConnection.parseKubeconfig(
            yaml: yaml.replacingOccurrences(of: "command: bin/get-token", with: "command: aws"), path: "/k/config",
            baseDirectory: root.path, context: nil)
        if case .exec(let plugin) = bare.credentials { #expect(plugin.command == "aws") }
    }
}

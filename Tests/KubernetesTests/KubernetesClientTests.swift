import CurlClient
import Foundation
import Logging
import Testing
import TestSupport

@testable import Kubernetes

/// The client against the fake API server over real TLS, with certificates made by openssl.
@Suite("KubernetesClient against a local HTTPS API server", .serialized)
struct KubernetesClientTests {
    private func withServer(_ body: (FakeAPIServer, CurlMultiClient) async throws -> Void) async throws {
        let server = try FakeAPIServer()
        let http = CurlMultiClient()
        defer {
            http.shutdown()
            server.stop()
        }
        try await body(server, http)
    }

    private func client(_ connection: KubernetesConnection, _ http: CurlMultiClient, refresh: Duration = .seconds(60)) -> KubernetesClient {
        KubernetesClient(connection: connection, http: http, logger: Logger(label: "test"), timeoutMilliseconds: 3000, tokenRefreshInterval: refresh)
    }

    private func writeKubeconfig(_ text: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("config-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("one merge patch with both annotations, as application/merge-patch+json")
    func mergePatch() async throws {
        try await withServer { server, http in
            try await server.requireTokens(["secret-token"], unauthorizedBody: nil)
            let config = try writeKubeconfig(
                """
                apiVersion: v1
                kind: Config
                current-context: test
                clusters:
                - name: c
                  cluster: {server: "\(server.url)", certificate-authority: ca.crt}
                users:
                - name: u
                  user: {token: secret-token}
                contexts:
                - name: test
                  context: {cluster: c, user: u}
                """, in: server.certificates.directory)
            let connection = try KubernetesConnection.kubeconfig(path: config)
            let outcome = await client(connection, http).patchNodeAnnotations(
                node: "wyse", annotations: ["energy.thesis.io/current-watts": "12.50", "energy.thesis.io/last-updated": "1700000000"])
            #expect(outcome == .ok)
            let requests = try await server.requests()
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.method == "PATCH")
            #expect(request.path == "/api/v1/nodes/wyse")
            #expect(request.headers["content-type"] == "application/merge-patch+json")
            #expect(request.token == "secret-token")
            let body = try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any]
            let annotations = (body?["metadata"] as? [String: Any])?["annotations"] as? [String: String]
            #expect(annotations == ["energy.thesis.io/current-watts": "12.50", "energy.thesis.io/last-updated": "1700000000"])
            #expect(body?.count == 1)
            #expect(try await server.annotations()["wyse"]?["energy.thesis.io/current-watts"] == "12.50")
        }
    }

    @Test("kubeconfig with inline CA and client certificate data, chosen by --context")
    func kubeconfigInlineClientCertificate() async throws {
        try await withServer { server, http in
            try await server.requireTokens(["only-this"], unauthorizedBody: nil)
            let certificates = server.certificates
            func base64(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString() }
            let config = try writeKubeconfig(
                """
                apiVersion: v1
                kind: Config
                current-context: wrong
                clusters:
                - name: wrong
                  cluster: {server: "https://127.0.0.1:1"}
                - name: lab
                  cluster:
                    server: \(server.url)/
                    certificate-authority-data: \(try base64(certificates.caCertificate))
                users:
                - name: admin
                  user:
                    client-certificate-data: \(try base64(certificates.clientCertificate))
                    client-key-data: \(try base64(certificates.clientKey))
                contexts:
                - {name: wrong, context: {cluster: wrong, user: admin}}
                - {name: lab, context: {cluster: lab, user: admin}}
                """, in: certificates.directory)
            let connection = try KubernetesConnection.kubeconfig(path: config, context: "lab")
            #expect(connection.server == server.url)
            #expect(await client(connection, http).patchNodeAnnotations(node: "rpi", annotations: ["a/b": "1"]) == .ok)
            let requests = try await server.requests()
            #expect(requests.map(\.client_cn) == ["energy-monitor-test"])
            #expect(requests.map(\.token) == [nil])
        }
    }

    @Test("kubeconfig with relative certificate files and a tokenFile")
    func kubeconfigFiles() async throws {
        try await withServer { server, http in
            try await server.requireTokens(["file-token"], unauthorizedBody: nil)
            let directory = server.certificates.directory
            try "file-token\n".write(to: directory.appendingPathComponent("token"), atomically: true, encoding: .utf8)
            let config = try writeKubeconfig(
                """
                current-context: files
                clusters: [{name: c, cluster: {server: "\(server.url)", certificate-authority: ./ca.crt}}]
                users: [{name: u, user: {tokenFile: token}}]
                contexts: [{name: files, context: {cluster: c, user: u}}]
                """, in: directory)
            let connection = try KubernetesConnection.kubeconfig(path: config)
            #expect(connection.credentials == .tokenFile(directory.appendingPathComponent("token").path))
            #expect(await client(connection, http).patchNodeAnnotations(node: "tvpc", annotations: ["a/b": "1"]) == .ok)
            #expect(try await server.requests().map(\.token) == ["file-token"])
        }
    }

    @Test("a server whose CA is not trusted is refused; insecure-skip-tls-verify only when set")
    func untrustedServer() async throws {
        try await withServer { server, http in
            let directory = server.certificates.directory
            let untrusted = try writeKubeconfig(
                """
                current-context: x
                clusters: [{name: c, cluster: {server: "\(server.url)", certificate-authority: other-ca.crt}}]
                users: [{name: u, user: {token: t}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                """, in: directory)
            let refused = await client(try .kubeconfig(path: untrusted), http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            guard case .transport(.tls) = refused else {
                Issue.record("expected a TLS failure, got \(refused)")
                return
            }
            // Without any CA the system bundle is used, which does not know the test CA either.
            let systemBundle = KubernetesConnection(server: server.url, credentials: .token("t"))
            guard case .transport(.tls) = await client(systemBundle, http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) else {
                Issue.record("the system CA bundle must not trust the test server")
                return
            }
            #expect(try await server.requests().isEmpty)

            let insecure = try writeKubeconfig(
                """
                current-context: x
                clusters: [{name: c, cluster: {server: "\(server.url)", insecure-skip-tls-verify: true}}]
                users: [{name: u, user: {token: t}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                """, in: directory)
            let connection = try KubernetesConnection.kubeconfig(path: insecure)
            #expect(connection.tls.insecureSkipVerify)
            #expect(await client(connection, http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
        }
    }

    @Test(
        "in-cluster: token re-read after a 401 (retried once) and at the refresh interval",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent: the real Status bodies are needed")
    )
    func inClusterTokenRotation() async throws {
        try await withServer { server, http in
            let unauthorized = try TestPaths.kubernetesFixtureText("status-401-unauthorized-reconstructed.json")
            let account = server.certificates.directory.appendingPathComponent("serviceaccount")
            try FileManager.default.createDirectory(at: account, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: server.certificates.caCertificate, toPath: account.appendingPathComponent("ca.crt").path)
            let tokenFile = account.appendingPathComponent("token")
            try "token-1".write(to: tokenFile, atomically: true, encoding: .utf8)
            try await server.requireTokens(["token-1"], unauthorizedBody: unauthorized)

            let environment = ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "\(server.port)"]
            let connection = try KubernetesConnection.automatic(environment: environment, serviceAccountDirectory: account.path)
            #expect(connection.origin == "in-cluster")
            #expect(connection.tls.caFile == account.appendingPathComponent("ca.crt").path)
            // A refresh interval far beyond this test: only the 401 can make it re-read the file.
            let kube = client(connection, http, refresh: .seconds(600))
            #expect(await kube.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)

            // Rotated: the cached token is refused once, the file is read again, the retry passes.
            try "token-2".write(to: tokenFile, atomically: true, encoding: .utf8)
            try await server.requireTokens(["token-2"], unauthorizedBody: unauthorized)
            #expect(await kube.patchNodeAnnotations(node: "n", annotations: ["a/b": "2"]) == .ok)
            #expect(try await server.requests().map(\.token) == ["token-1", "token-1", "token-2"])
            #expect(try await server.requests().map(\.status) == [200, 401, 200])

            // Rotated again: after the refresh interval the new token is used without a 401.
            let timed = client(connection, http, refresh: .milliseconds(400))
            #expect(await timed.patchNodeAnnotations(node: "n", annotations: ["a/b": "3"]) == .ok)  // caches token-2
            try "token-3".write(to: tokenFile, atomically: true, encoding: .utf8)
            try await server.requireTokens(["token-2", "token-3"], unauthorizedBody: unauthorized)
            try await Task.sleep(for: .milliseconds(500))
            #expect(await timed.patchNodeAnnotations(node: "n", annotations: ["a/b": "4"]) == .ok)
            let last = try #require(try await server.requests().last)
            #expect(last.token == "token-3")
            #expect(last.status == 200)
        }
    }

    @Test(
        "401 that persists: one retry, then reported with the API's message",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent: the real Status bodies are needed")
    )
    func persistentUnauthorized() async throws {
        try await withServer { server, http in
            let body = try TestPaths.kubernetesFixtureText("status-401-unauthorized-reconstructed.json")
            try await server.requireTokens(["right"], unauthorizedBody: body)
            let tokenFile = server.certificates.directory.appendingPathComponent("wrong-token")
            try "wrong".write(to: tokenFile, atomically: true, encoding: .utf8)
            let connection = KubernetesConnection(
                server: server.url, tls: TLSOptions(caFile: server.certificates.caCertificate), credentials: .tokenFile(tokenFile.path))
            let outcome = await client(connection, http).patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(outcome == .unauthorized(APIStatus(code: 401, reason: "Unauthorized", message: "Unauthorized")))
            #expect(try await server.requests().count == 2)
        }
    }

    @Test(
        "403, 404 and 422 are rejections carrying the API server's message",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent: the real Status bodies are needed"),
        arguments: [
            (403, "status-403-forbidden-node-patch-reconstructed.json", "Forbidden"),
            (404, "status-404-node-not-found-reconstructed.json", "NotFound"),
            (422, "status-422-apply-missing-fieldmanager-captured.json", "Invalid"),
        ])
    func rejections(code: Int, fixture: String, reason: String) async throws {
        try await withServer { server, http in
            let body = try TestPaths.kubernetesFixtureText(fixture)
            let message = try #require(
                (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["message"] as? String)
            try await server.script(status: code, body: body)
            let connection = KubernetesConnection(server: server.url, tls: TLSOptions(caFile: server.certificates.caCertificate), credentials: .token("t"))
            let outcome = await client(connection, http).patchNodeAnnotations(node: "ovn-worker", annotations: ["a/b": "1"])
            #expect(outcome == .rejected(APIStatus(code: code, reason: reason, message: message)))
            #expect(outcome.description.contains(message))
            #expect(try await server.requests().count == 1)
        }
    }

    @Test(
        "429 carries Retry-After; 5xx is unavailable",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent: the real Status bodies are needed")
    )
    func throttledAndServerError() async throws {
        try await withServer { server, http in
            // The reconstructed 429 is a raw HTTP response: replay its headers and body.
            let raw = try TestPaths.kubernetesFixtureText("response-429-apf-reconstructed.txt").replacingOccurrences(of: "\r\n", with: "\n")
            let parts = raw.components(separatedBy: "\n\n")
            var headers: [String: String] = [:]
            for line in parts[0].split(separator: "\n").dropFirst() {
                let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2 { headers[pair[0]] = pair[1] }
            }
            try await server.script(status: 429, body: parts.dropFirst().joined(separator: "\n\n"), headers: headers)
            try await server.script(status: 503, body: #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: leader changed","reason":"ServiceUnavailable","code":503}"#)
            let connection = KubernetesConnection(server: server.url, tls: TLSOptions(caFile: server.certificates.caCertificate), credentials: .token("t"))
            let kube = client(connection, http)
            let throttled = await kube.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(throttled == .throttled(APIStatus(code: 429, message: "Too many requests, please try again later."), retryAfterSeconds: 1))
            let unavailable = await kube.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
            #expect(unavailable == .unavailable(APIStatus(code: 503, reason: "ServiceUnavailable", message: "etcdserver: leader changed")))
        }
    }

    @Test("a stopped server is a connection error; GET returns the body")
    func connectionErrorAndGet() async throws {
        try await withServer { server, http in
            let connection = KubernetesConnection(server: server.url, tls: TLSOptions(caFile: server.certificates.caCertificate), credentials: .token("t"))
            let kube = client(connection, http)
            #expect(await kube.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
            let node = try await kube.get(path: "/api/v1/nodes/n")
            let object = try JSONSerialization.jsonObject(with: Data(node)) as? [String: Any]
            #expect(((object?["metadata"] as? [String: Any])?["annotations"] as? [String: String])?["a/b"] == "1")
            try await server.goDown(seconds: 30)
            let outcome = await kube.patchNodeAnnotations(node: "n", annotations: ["a/b": "2"])
            guard case .transport(.connect) = outcome else {
                Issue.record("expected a connection error, got \(outcome)")
                return
            }
        }
    }
}

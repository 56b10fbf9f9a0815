import CurlClient
import Foundation
import Logging
import Testing
import TestSupport

@testable import Kubernetes

/// How requests reach the API server as kubeconfigs describe it: `tls-server-name` for a
/// server reached by an address its certificate does not name, `proxy-url` through HTTP,
/// HTTPS and SOCKS5 proxies, and the impersonation headers of `as`/`as-groups`.
@Suite("Kubeconfig routing: TLS server name, proxies, impersonation", .serialized)
struct ConnectionRoutingTests {
    static func client(_ connection: KubernetesConnection, _ http: CurlMultiClient) -> KubernetesClient {
        var logger = Logger(label: "routing-test")
        logger.logLevel = .critical
        return KubernetesClient(connection: connection, http: http, logger: logger)
    }

    static func kubeconfig(_ server: FakeAPIServer, cluster: String = "", user: String = "token: secret") throws -> String {
        let path = server.certificates.path("kubeconfig-\(UUID().uuidString)")
        try """
            current-context: test
            clusters: [{name: fake, cluster: {server: "\(server.url)", certificate-authority: ca.crt\(cluster)}}]
            contexts: [{name: test, context: {cluster: fake, user: tester}}]
            users: [{name: tester, user: {\(user)}}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("tls-server-name: the certificate is checked for that name, the connection and Host go to the server's address")
    func tlsServerName() async throws {
        let server = try FakeAPIServer(identity: .named)
        let http = CurlMultiClient()
        defer {
            http.shutdown()
            server.stop()
        }
        let plain = Self.client(try .kubeconfig(path: try Self.kubeconfig(server)), http)
        let refused = await plain.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"])
        guard case .transport(.tls) = refused else {
            Issue.record("a certificate for another name was accepted: \(refused)")
            return
        }
        let named = Self.client(
            try .kubeconfig(path: try Self.kubeconfig(server, cluster: ", tls-server-name: \(TestCertificates.serverName)")),
            http)
        #expect(await named.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
        let request = try #require(try await server.requests().last)
        #expect(request.headers["host"] == "127.0.0.1:\(server.port)")
        #expect(request.token == "secret")
    }

    @Test(
        "proxy-url: http, https (verified with the cluster CA, as Go does) and socks5 tunnels carry the requests",
        arguments: [ProxyRelay.Mode.http, .https, .socks5])
    func proxies(mode: ProxyRelay.Mode) async throws {
        let server = try FakeAPIServer()
        let proxy = try ProxyRelay(mode: mode, certificates: mode == .https ? server.certificates : nil)
        let http = CurlMultiClient()
        defer {
            http.shutdown()
            proxy.stop()
            server.stop()
        }
        let client = Self.client(
            try .kubeconfig(path: try Self.kubeconfig(server, cluster: ", proxy-url: \"\(proxy.url)\"")), http)
        #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
        #expect(await eventually { proxy.tunnels.contains("127.0.0.1:\(server.port)") }, "\(proxy.tunnels)")
        #expect(try await server.requests().count == 1)
    }

    @Test("as, as-uid, as-groups and as-user-extra become impersonation headers on every request")
    func impersonation() async throws {
        let server = try FakeAPIServer()
        let http = CurlMultiClient()
        defer {
            http.shutdown()
            server.stop()
        }
        let client = Self.client(
            try .kubeconfig(
                path: try Self.kubeconfig(
                    server,
                    user: "token: secret, as: \"system:serviceaccount:energy-monitor:energy-monitor\", as-uid: \"42\", "
                        + "as-groups: [system:serviceaccounts, \"system:serviceaccounts:energy-monitor\"], "
                        + "as-user-extra: {reason: [check]}")),
            http)
        #expect(await client.patchNodeAnnotations(node: "n", annotations: ["a/b": "1"]) == .ok)
        let headers = try #require(try await server.requests().last?.headers)
        #expect(headers["impersonate-user"] == "system:serviceaccount:energy-monitor:energy-monitor")
        #expect(headers["impersonate-uid"] == "42")
        #expect(headers["impersonate-group"] == "system:serviceaccounts, system:serviceaccounts:energy-monitor")
        #expect(headers["impersonate-extra-reason"] == "check")
        // A client made to act as another user carries that user instead.
        let other = client.impersonating(Impersonation(user: "jane"))
        #expect(await other.patchNodeAnnotations(node: "n", annotations: ["a/b": "2"]) == .ok)
        #expect(try await server.requests().last?.headers["impersonate-user"] == "jane")
    }
}

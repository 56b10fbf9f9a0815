import CurlClient
import Foundation

/// The fake API server (`fake_apiserver.py`) as a child process on loopback, with its
/// control port wrapped in methods.
public final class FakeAPIServer: @unchecked Sendable {
    // `@unchecked`: all stored properties are constants set in `init`; Process is used
    // only by `stop()`, which tests call once.

    /// One request the server received.
    public struct Request: Decodable, Sendable {
        public let time: Double
        public let method: String
        public let path: String
        public let headers: [String: String]
        public let body: String
        public let token: String?
        public let client_cn: String?
        public let status: Int
    }

    /// The HTTPS port.
    public let port: Int
    /// The plain-HTTP control port.
    public let controlPort: Int
    /// The certificates it serves with (and the folder for a test's files).
    public let certificates: TestCertificates
    private let process: Process
    private let stdin: Pipe
    private let control = CurlMultiClient()

    /// `https://127.0.0.1:PORT`.
    public var url: String { "https://127.0.0.1:\(port)" }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_apiserver.py").path

    /// The certificate the server presents.
    public enum Identity: Sendable {
        /// For 127.0.0.1, signed by the cluster CA.
        case standard
        /// For `TestCertificates.serverName` only, signed by the cluster CA.
        case named
        /// For 127.0.0.1, signed by the unrelated CA.
        case otherCA
    }

    /// Starts the server with fresh certificates; `verifyClients` makes it accept client
    /// certificates signed by the test CA.
    public init(verifyClients: Bool = true, identity: Identity = .standard) throws {
        certificates = try TestCertificates.make()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let (certificate, key) =
            switch identity {
            case .standard: (certificates.serverCertificate, certificates.serverKey)
            case .named: (certificates.namedServerCertificate, certificates.namedServerKey)
            case .otherCA: (certificates.otherServerCertificate, certificates.otherServerKey)
            }
        var arguments = ["python3", Self.script, "--cert", certificate, "--key", key]
        if verifyClients { arguments += ["--client-ca", certificates.caCertificate] }
        process.arguments = arguments
        let output = Pipe()
        stdin = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        try process.run()
        // The first line names the ports; the script prints it once both listen.
        let line = readFirstLine(of: output)
        struct Ports: Decodable { let port: Int; let control_port: Int }
        guard let ports = try? JSONDecoder().decode(Ports.self, from: line) else {
            process.terminate()
            throw TestSupportError("fake API server did not start: \(String(decoding: line, as: UTF8.self))")
        }
        port = ports.port
        controlPort = ports.control_port
    }

    /// Stops the server and removes its certificates.
    public func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        control.shutdown()
        certificates.remove()
    }

    @discardableResult
    private func post(_ path: String, _ body: [String: Any]) async throws -> HTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await control.perform(HTTPRequest(
            url: "http://127.0.0.1:\(controlPort)\(path)", method: "POST",
            headers: ["Content-Type: application/json"], body: [UInt8](data)))
    }

    /// Every request so far.
    public func requests() async throws -> [Request] {
        let response = try await control.perform(
            HTTPRequest(url: "http://127.0.0.1:\(controlPort)/requests", maxResponseBytes: 64 << 20))
        return try JSONDecoder().decode([Request].self, from: Data(response.body))
    }

    /// Current annotations by node.
    public func annotations() async throws -> [String: [String: String]] {
        let response = try await control.perform(HTTPRequest(url: "http://127.0.0.1:\(controlPort)/nodes"))
        return try JSONDecoder().decode([String: [String: String]].self, from: Data(response.body))
    }

    /// Only these bearer tokens pass (or a verified client certificate); others get 401 with `body`.
    public func requireTokens(_ tokens: [String], unauthorizedBody: String?) async throws {
        var command: [String: Any] = ["tokens": tokens]
        if let unauthorizedBody { command["unauthorized_body"] = unauthorizedBody }
        try await post("/auth", command)
    }

    /// Answers the next matching request with `status`, `body` and `headers`.
    public func script(status: Int, body: String, headers: [String: String] = [:], match: String? = nil, times: Int = 1) async throws {
        var entry: [String: Any] = ["status": status, "body": body, "headers": headers, "times": times]
        if let match { entry["match"] = match }
        try await post("/script", ["responses": [entry]])
    }

    /// Stops listening for `seconds`.
    public func goDown(seconds: Double) async throws {
        try await post("/down", ["seconds": seconds])
    }

    /// Writes a kubeconfig for this server (trusting its CA, authenticating with `token`) into
    /// the certificates' folder and returns its path.
    public func writeKubeconfig(token: String, context: String = "test", name: String = "kubeconfig") throws -> String {
        let path = certificates.path(name)
        try """
            apiVersion: v1
            kind: Config
            current-context: \(context)
            clusters: [{name: fake, cluster: {server: "\(url)", certificate-authority: ca.crt}}]
            users: [{name: tester, user: {token: \(token)}}]
            contexts: [{name: \(context), context: {cluster: fake, user: tester}}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

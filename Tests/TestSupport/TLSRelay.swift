import Foundation

/// `tls_relay.py` as a child process: HTTPS on loopback in front of a plain-HTTP server (the
/// cluster simulator), with fresh test certificates, so that the real binary reaches the
/// simulator through an ordinary kubeconfig (which names TLS servers only).
public final class TLSRelay: @unchecked Sendable {
    // `@unchecked`: every stored property is a constant set in `init`; Process is only
    // signalled and waited for in `stop()`.

    /// The HTTPS port.
    public let port: Int
    /// The certificates it serves with (and the folder for a test's files).
    public let certificates: TestCertificates
    private let process: Process

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "tls_relay.py"
    ).path

    /// `https://127.0.0.1:PORT`.
    public var url: String { "https://127.0.0.1:\(port)" }

    /// Starts a relay to `127.0.0.1:backend`.
    public init(backend: Int) throws {
        certificates = try TestCertificates.make()
        process = Process()
        (process.executableURL, process.arguments) = withDefaultSignals(
            "python3",
            [
                Self.script, "--cert", certificates.serverCertificate, "--key", certificates.serverKey, "--backend",
                "\(backend)",
            ])
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        // Not the test's own standard error: a relay left behind must not hold the test
        // runner's pipe open.
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = readFirstLine(of: output)
        struct Port: Decodable { let port: Int }
        guard let decoded = try? JSONDecoder().decode(Port.self, from: line) else {
            process.terminate()
            throw TestSupportError("TLS relay did not start: \(String(decoding: line, as: UTF8.self))")
        }
        port = decoded.port
    }

    deinit {
        stop()
    }

    /// Writes a kubeconfig for the relay (trusting its CA, with `token` if any) and returns its path.
    public func writeKubeconfig(token: String?, name: String = "kubeconfig") throws -> String {
        let path = certificates.path(name)
        let user = token.map { "{token: \($0)}" } ?? "{}"
        try """
        apiVersion: v1
        kind: Config
        current-context: test
        clusters: [{name: sim, cluster: {server: "\(url)", certificate-authority: ca.crt}}]
        users: [{name: tester, user: \(user)}]
        contexts: [{name: test, context: {cluster: sim, user: tester}}]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Stops the relay and removes its certificates (again: nothing happens).
    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        certificates.remove()
    }
}

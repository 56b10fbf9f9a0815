import Foundation

/// Certificates made for one test run with the `openssl` command: a cluster CA, a server
/// certificate for 127.0.0.1 signed by it, a client certificate signed by it, and an
/// unrelated CA that must not be trusted.
public struct TestCertificates: Sendable {
    /// The folder holding every file.
    public let directory: URL
    public var caCertificate: String { path("ca.crt") }
    public var serverCertificate: String { path("server.crt") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.crt") }
    public var clientKey: String { path("client.key") }
    public var otherCACertificate: String { path("other-ca.crt") }
    /// A server certificate for the name `kube-apiserver.test` only (no address), signed by
    /// the cluster CA: reached at 127.0.0.1 it verifies only with a TLS server name.
    public var namedServerCertificate: String { path("named-server.crt") }
    public var namedServerKey: String { path("named-server.key") }
    /// A server certificate for 127.0.0.1 signed by the unrelated CA.
    public var otherServerCertificate: String { path("other-server.crt") }
    public var otherServerKey: String { path("other-server.key") }
    /// The name in `namedServerCertificate`.
    public static let serverName = "kube-apiserver.test"

    /// The path of a file in the folder.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs `openssl` in a fresh temporary folder.
    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-certs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let caExtensions = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-cluster-ca"] + caExtensions, in: directory)
        try openssl(["req", "-x509"] + ec + ["-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=untrusted-ca"] + caExtensions, in: directory)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
            to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(to: directory.appendingPathComponent("client.ext"), atomically: true, encoding: .utf8)
        try "subjectAltName=DNS:\(serverName)\nextendedKeyUsage=serverAuth\n".write(
            to: directory.appendingPathComponent("named-server.ext"), atomically: true, encoding: .utf8)
        try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(
            to: directory.appendingPathComponent("other-server.ext"), atomically: true, encoding: .utf8)
        for (name, subject, ca) in [
            ("server", "/CN=kube-apiserver", "ca"), ("client", "/CN=energy-monitor-test/O=test", "ca"),
            ("named-server", "/CN=kube-apiserver", "ca"), ("other-server", "/CN=kube-apiserver", "other-ca"),
        ] {
            try openssl(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject], in: directory)
            try openssl(
                ["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).crt", "-CAkey", "\(ca).key", "-CAcreateserial",
                 "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext"], in: directory)
        }
        return certificates
    }

    /// Deletes the folder.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}

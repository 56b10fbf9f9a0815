import Foundation
import Synchronization

/// `proxy_relay.py` as a child process: a forward proxy on loopback (HTTP CONNECT, CONNECT
/// over TLS, or SOCKS5) that records every tunnel it opens, for kubeconfig `proxy-url` tests.
public final class ProxyRelay: @unchecked Sendable {
    // `@unchecked`: every stored property is a constant set in `init`; `tunnels` is a Mutex,
    // Process is only signalled and waited for in `stop()`.

    /// How clients talk to the proxy.
    public enum Mode: String, Sendable {
        case http, https, socks5
    }

    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// `http://127.0.0.1:PORT`, `https://...` or `socks5://...`.
    public var url: String { "\(mode.rawValue)://127.0.0.1:\(port)" }
    private let mode: Mode
    private let process: Process
    private let stdin: Pipe
    private let lines = Lines()

    /// What the proxy printed, shared with the thread that reads it.
    private final class Lines: Sendable {
        let value = Mutex<[String]>([])
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "proxy_relay.py"
    ).path

    /// Starts a proxy; `https` serves TLS with `certificates`' server certificate.
    public init(mode: Mode, certificates: TestCertificates? = nil) throws {
        self.mode = mode
        process = Process()
        var arguments = [Self.script, "--mode", mode.rawValue]
        if let certificates {
            arguments += ["--cert", certificates.serverCertificate, "--key", certificates.serverKey]
        }
        (process.executableURL, process.arguments) = withDefaultSignals("python3", arguments)
        let output = Pipe()
        stdin = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        let first = readFirstLine(of: output)
        struct Port: Decodable { let port: Int }
        guard let decoded = try? JSONDecoder().decode(Port.self, from: first) else {
            process.terminate()
            throw TestSupportError("proxy relay did not start: \(String(decoding: first, as: UTF8.self))")
        }
        port = decoded.port
        let reader = output.fileHandleForReading
        let lines = self.lines
        Thread.detachNewThread {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.value.withLock { $0.append(line) }
                }
            }
        }
    }

    deinit {
        stop()
    }

    /// The `host:port` of every tunnel opened so far, in order.
    public var tunnels: [String] {
        lines.value.withLock { $0 }.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["target"] as? String
        }
    }

    /// Stops the proxy (again: nothing happens).
    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

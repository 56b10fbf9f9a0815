import CurlClient
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Paths and helpers shared by the integration tests.
enum TestEnvironment {
    /// The `energy-monitor` binary built next to the test bundle.
    static let binary: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("energy-monitor").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/energy-monitor").path
    }()

    /// A tool from Debian's packages, or nil.
    static func tool(_ name: String) -> String? {
        for folder in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A new temporary folder.
    static func makeFolder(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `count` consecutive free TCP ports on 127.0.0.1.
    static func freePorts(_ count: Int) -> Int {
        for _ in 0..<200 {
            let base = Int.random(in: 20_000...55_000)
            if (0..<count).allSatisfy({ isFree(base + $0) }) { return base }
        }
        fatalError("no \(count) consecutive free ports found")
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    static let client = CurlMultiClient()

    /// GET on loopback; nil when nothing answers.
    static func get(_ url: String) async -> HTTPResponse? {
        try? await client.perform(HTTPRequest(url: url, timeoutMilliseconds: 3000, maxResponseBytes: 16 << 20))
    }

    /// The text of a GET, or "".
    static func getText(_ url: String) async -> String {
        guard let response = await get(url) else { return "" }
        return String(decoding: response.body, as: UTF8.self)
    }
}

/// Reads sample lines (`name{labels} value`) of a Prometheus text exposition.
struct Exposition {
    let lines: [String]

    init(_ text: String) {
        lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    /// The value of the series `name{labels}` with labels written exactly as given.
    func value(_ series: String) -> Double? {
        for line in lines where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func has(_ series: String) -> Bool { value(series) != nil }
}

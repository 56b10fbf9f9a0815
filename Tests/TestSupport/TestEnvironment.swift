import CurlClient
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Folders, ports and loopback HTTP for the tests.
public enum TestEnvironment {
    /// A new temporary folder that stays after the test (end-to-end tests leave their logs
    /// and databases there for a look after a failure); `TemporaryDirectory` is removed.
    public static func makeFolder(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(name)-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `count` consecutive free TCP ports on 127.0.0.1 (the first of them), below the
    /// kernel's ephemeral range: a port in that range that is free now can become the source
    /// port of any outgoing connection (the suite opens thousands) before the process it was
    /// chosen for binds it, which then fails to listen.
    ///
    /// A block is free only if no other test of this process was handed a block that overlaps
    /// it in the last `reservation`: tests run in parallel, and a block checked free now stays
    /// unbound until the process it was chosen for listens (a simulator of 3,000 plugs takes
    /// seconds), so checking the ports alone hands the same ports to two tests.
    public static func freePorts(_ count: Int) -> Int {
        let top = min(60_000, ephemeralPortsStart) - count
        let range = top > 12_000 ? 10_000...top : 20_000...(60_000 - count)
        for _ in 0..<500 {
            let base = Int.random(in: range)
            let block = base...(base + count - 1)
            guard reserve(block) else { continue }
            if (0..<count).allSatisfy({ isFree(base + $0) }) { return base }
            release(block)
        }
        fatalError("no \(count) consecutive free ports found on 127.0.0.1")
    }

    /// How long a handed-out block stays reserved: longer than any test holds its ports.
    static let reservation: Duration = .seconds(900)

    /// The blocks handed out, with when.
    private static let blocks = Mutex<[(ports: ClosedRange<Int>, at: ContinuousClock.Instant)]>([])

    /// Records `block` unless it overlaps a block handed out within `reservation`.
    private static func reserve(_ block: ClosedRange<Int>) -> Bool {
        blocks.withLock { blocks in
            let now = ContinuousClock.now
            blocks.removeAll { now - $0.at > reservation }
            if blocks.contains(where: { $0.ports.overlaps(block) }) { return false }
            blocks.append((block, now))
            return true
        }
    }

    /// Forgets `block` (some of its ports were taken).
    private static func release(_ block: ClosedRange<Int>) {
        blocks.withLock { $0.removeAll { $0.ports == block } }
    }

    /// The first port the kernel hands out as a source port (`ip_local_port_range`).
    static let ephemeralPortsStart: Int = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }()

    /// Whether `port` can be bound on 127.0.0.1 now.
    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// A client shared by the tests' loopback requests.
    public static let client = CurlMultiClient()

    /// GET on loopback; nil when nothing answers.
    public static func get(_ url: String, timeoutMilliseconds: Int = 3000) async -> HTTPResponse? {
        try? await client.perform(
            HTTPRequest(url: url, timeoutMilliseconds: timeoutMilliseconds, maxResponseBytes: 16 << 20))
    }

    /// The text of a GET, or "".
    public static func getText(_ url: String) async -> String {
        guard let response = await get(url) else { return "" }
        return String(decoding: response.body, as: UTF8.self)
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP port on 127.0.0.1 that is bound but never listened on, held until `release()` (or
/// until the value goes away): a connection to it is refused at once, and no other test can
/// take the port meanwhile. A port merely found free, or listened on and closed again, can be
/// taken by another test running alongside, which then answers in place of the dead device.
public final class HeldPort: Sendable {
    /// The port number.
    public let port: Int
    private let descriptor: Mutex<Int32?>

    /// Binds a port chosen by the kernel.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket(): errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw TestSupportError("cannot hold a port on 127.0.0.1: errno \(errno)")
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.descriptor = Mutex(fd)
    }

    /// Gives the port back (once; later calls do nothing).
    public func release() {
        if let fd = descriptor.withLock({ held -> Int32? in
            defer { held = nil }
            return held
        }) {
            close(fd)
        }
    }

    deinit { release() }
}

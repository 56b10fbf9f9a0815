import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Plain TCP connections to loopback servers, for clients that misbehave on purpose: they
/// send a byte at a time, stop halfway or never read their answer.
public enum RawSocket {
    /// A TCP connection to 127.0.0.1:`port`; `receiveBuffer` shrinks the socket's buffer so
    /// a response that is not read backs up quickly.
    public static func connect(port: Int, receiveBuffer: Int32? = nil) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Sends `text` (without a signal if the peer has gone).
    public static func send(_ fd: Int32, _ text: String) {
        send(fd, Array(text.utf8))
    }

    /// Sends `bytes` (without a signal if the peer has gone).
    public static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// True once the peer closed `fd` (a read returns 0 or an error other than "would block").
    public static func isClosedByPeer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { continue }  // drain what was sent before the close
            return count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }
}

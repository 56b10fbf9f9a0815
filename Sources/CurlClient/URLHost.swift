#if canImport(Glibc)
    import Glibc
#endif

/// The host part of an absolute URL, read from its bytes: this runs for every transfer.
enum URLHost {
    /// The host of `url` (`scheme://[user@]host[:port][/...]`, IPv6 literals in brackets
    /// returned without them) as bytes, or nil when `url` has no authority.
    static func host(of url: String) -> [UInt8]? {
        if let found = url.utf8.withContiguousStorageIfAvailable({ host(inBytes: $0) }) { return found }
        return Array(url.utf8).withUnsafeBufferPointer { host(inBytes: $0) }
    }

    private static func host(inBytes bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        // "://" ends the scheme.
        var index = 0
        while index + 2 < bytes.count, !(bytes[index] == UInt8(ascii: ":") && bytes[index + 1] == UInt8(ascii: "/") && bytes[index + 2] == UInt8(ascii: "/")) {
            index += 1
        }
        guard index + 2 < bytes.count else { return nil }
        var start = index + 3
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"), bytes[end] != UInt8(ascii: "#") {
            end += 1
        }
        // Credentials end at the last "@" of the authority.
        for position in stride(from: end - 1, through: start, by: -1) where bytes[position] == UInt8(ascii: "@") {
            start = position + 1
            break
        }
        guard start < end else { return [] }
        if bytes[start] == UInt8(ascii: "[") {
            guard let close = (start..<end).first(where: { bytes[$0] == UInt8(ascii: "]") }) else { return nil }
            return Array(bytes[(start + 1)..<close])
        }
        if let colon = (start..<end).first(where: { bytes[$0] == UInt8(ascii: ":") }) {
            end = colon
        }
        return Array(bytes[start..<end])
    }

    /// True when the host of `url` is an IPv4 or IPv6 address rather than a name.
    static func isNumericAddress(_ url: String) -> Bool {
        guard var host = host(of: url), !host.isEmpty, host.count < 64 else { return false }
        host.append(0)
        var buffer = in6_addr()
        return host.withUnsafeBufferPointer { name in
            name.withMemoryRebound(to: CChar.self) { text in
                inet_pton(AF_INET, text.baseAddress, &buffer) == 1 || inet_pton(AF_INET6, text.baseAddress, &buffer) == 1
            }
        }
    }

    /// How to reach `url` while checking its server as `serverName`: the URL with its host
    /// replaced by `serverName`, the `CURLOPT_CONNECT_TO` entry that sends the connection to
    /// the original host and port, and the original authority for the `Host` header. Nil
    /// when `url` has no authority.
    static func route(_ url: String, serverName: String) -> (url: String, connectTo: String, host: String)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty else { return nil }
        let host: Substring
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        let portNumber = port.flatMap { $0.isEmpty ? nil : String($0) } ?? (scheme == "http" ? "80" : "443")
        // An IPv6 literal as the server name needs brackets in the URL and in CONNECT_TO.
        let name = serverName.contains(":") && !serverName.hasPrefix("[") ? "[\(serverName)]" : serverName
        let rewritten = "\(scheme)://\(name):\(portNumber)" + rest[authorityEnd...]
        return (rewritten, "\(name):\(portNumber):\(host):\(portNumber)", String(authority))
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// The host part of an absolute URL, without a lookup table or Foundation.
enum URLHost {
    /// The host of `url` (`scheme://[user@]host[:port][/...]`, IPv6 literals in brackets
    /// returned without them), or nil when `url` has no authority.
    static func host(of url: String) -> Substring? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = url[schemeEnd.upperBound...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        if let at = authority.lastIndex(of: "@") {
            authority = authority[authority.index(after: at)...]
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            return authority[authority.index(after: authority.startIndex)..<close]
        }
        if let colon = authority.firstIndex(of: ":") {
            authority = authority[..<colon]
        }
        return authority
    }

    /// True when the host of `url` is an IPv4 or IPv6 address rather than a name.
    static func isNumericAddress(_ url: String) -> Bool {
        guard let host = host(of: url), !host.isEmpty else { return false }
        var buffer = in6_addr()
        return String(host).withCString { name in
            inet_pton(AF_INET, name, &buffer) == 1 || inet_pton(AF_INET6, name, &buffer) == 1
        }
    }
}

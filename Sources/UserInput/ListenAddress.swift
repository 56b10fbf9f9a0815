import EnergyModel

/// Where a server listens: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every IPv4 interface.
///
/// The one rule for every listener (the service's `listen:`, the extender's and the demo's
/// `--listen`): an IPv6 address needs brackets (in `::1:80` the port cannot be told from the
/// address), a host is a name or an address without spaces, and the port is 1...65535. Port 0,
/// "any free port", only where the caller allows it (the extender and tests, which print or
/// report the port they got); a configuration file that names port 0 is a mistake.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host or address to bind, without brackets (`0.0.0.0`, `127.0.0.1`, `::1`, `localhost`).
    public let host: String
    /// The port; 0 lets the system pick one.
    public let port: Int

    /// An address built in code.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT`; port 0 only when `allowingPortZero`.
    public init(_ text: String, allowingPortZero: Bool = false) throws(ListenAddressError) {
        let hostPart: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ListenAddressError(text, "is not HOST:PORT, [IPv6]:PORT or :PORT")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard hostPart.contains(":"),
                hostPart.allSatisfy({ $0.isHexDigit || ":.%".contains($0) || $0.isASCII && $0.isLetter })
            else {
                throw ListenAddressError(text, "has no IPv6 address in its brackets")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ListenAddressError(text, "is not HOST:PORT, [IPv6]:PORT or :PORT")
            }
            hostPart = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !hostPart.contains(":") else {
                throw ListenAddressError(text, "is an IPv6 address without brackets; write [\(hostPart)]:\(portText)")
            }
            guard hostPart.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                throw ListenAddressError(text, "has a host that is not a name or an address")
            }
        }
        let lowest = allowingPortZero ? 0 : 1
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText),
            (lowest...65535).contains(port)
        else {
            throw ListenAddressError(text, "port must be \(lowest)...65535", quotedAfter: true)
        }
        self.init(host: hostPart.isEmpty ? "0.0.0.0" : String(hostPart), port: port)
    }

    /// Whether the host is an IPv6 address.
    public var isIPv6: Bool { host.contains(":") }

    /// The host as a URL writes it: IPv6 in brackets.
    public var urlHost: String { isIPv6 ? "[\(host)]" : host }

    /// A host a local client can reach the server at: loopback for the wildcard addresses.
    public var reachableHost: String {
        switch host {
        case "0.0.0.0": "127.0.0.1"
        case "::": "[::1]"
        default: urlHost
        }
    }

    /// `host:port`, `[v6]:port`: parses back to the same address.
    public var description: String { "\(urlHost):\(port)" }
}

/// A listen address that does not follow ``ListenAddress``'s rule, as one line.
public struct ListenAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The address as given.
    public let address: String
    /// The line: the address and what is wrong with it.
    public let description: String

    init(_ address: String, _ problem: String, quotedAfter: Bool = false) {
        self.address = address
        let quoted = "\"\(address.foldedToOneLine(limit: 100))\""
        description = quotedAfter ? "\(problem) in \(quoted)" : "\(quoted) \(problem)"
    }
}

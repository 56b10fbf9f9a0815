/// How a request authenticates. Secrets are held only in memory and never printed.
public enum HTTPAuthentication: Sendable, Equatable, CustomStringConvertible {
    /// HTTP Basic (Shelly Gen1).
    case basic(username: String, password: String)
    /// HTTP Digest, MD5 or SHA-256 as the server asks (Shelly Gen2+ use SHA-256).
    case digest(username: String, password: String)
    /// `Authorization: Bearer` (Kubernetes service-account and kubeconfig tokens).
    case bearer(token: String)

    /// Names the scheme without the secret.
    public var description: String {
        switch self {
        case .basic(let user, _): "basic(\(user))"
        case .digest(let user, _): "digest(\(user))"
        case .bearer: "bearer"
        }
    }
}

/// TLS settings of a request. Peer verification is on unless explicitly disabled.
public struct TLSOptions: Sendable, Equatable {
    /// PEM file of the CA certificates to trust instead of the system bundle.
    public var caFile: String?
    /// PEM bytes of the CA certificates to trust instead of the system bundle.
    public var caPEM: [UInt8]?
    /// PEM file of a client certificate.
    public var clientCertificateFile: String?
    /// PEM bytes of a client certificate.
    public var clientCertificatePEM: [UInt8]?
    /// PEM file of the client certificate's private key.
    public var clientKeyFile: String?
    /// PEM bytes of the client certificate's private key.
    public var clientKeyPEM: [UInt8]?
    /// Skips verification of the server certificate. Only ever set from an explicit
    /// `insecure-skip-tls-verify: true`.
    public var insecureSkipVerify: Bool
    /// The name the server's certificate is checked against and sent in SNI, instead of the
    /// URL's host (kubeconfig `tls-server-name`: an API server reached by an address its
    /// certificate does not name). The connection still goes to the URL's host and port, and
    /// the `Host` header still names them.
    public var serverName: String?

    /// Creates TLS options; by default the system CA bundle and full verification.
    public init(
        caFile: String? = nil,
        caPEM: [UInt8]? = nil,
        clientCertificateFile: String? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyFile: String? = nil,
        clientKeyPEM: [UInt8]? = nil,
        insecureSkipVerify: Bool = false,
        serverName: String? = nil
    ) {
        self.caFile = caFile
        self.caPEM = caPEM
        self.clientCertificateFile = clientCertificateFile
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyFile = clientKeyFile
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
        self.serverName = serverName
    }

    /// Whether a CA of its own is given: then only that CA is trusted, never the system's.
    public var hasOwnCA: Bool { caFile != nil || caPEM != nil }
}

/// One HTTP request for `CurlMultiClient`.
public struct HTTPRequest: Sendable {
    /// Absolute URL.
    public var url: String
    /// Method, e.g. `GET` or `PATCH`.
    public var method: String
    /// Extra header lines as `Name: value`.
    public var headers: [String]
    /// Request body, if any.
    public var body: [UInt8]?
    /// Authentication, if any.
    public var authentication: HTTPAuthentication?
    /// TLS settings for https URLs.
    public var tls: TLSOptions
    /// Whole-transfer timeout in milliseconds (both round trips of a Digest exchange).
    public var timeoutMilliseconds: Int
    /// Timeout of the connection alone, milliseconds; nil: `timeoutMilliseconds`. A request
    /// that may take long to answer still learns quickly that nobody listens.
    public var connectTimeoutMilliseconds: Int?
    /// Larger bodies are cut off and reported as `HTTPClientError.responseTooLarge`.
    public var maxResponseBytes: Int
    /// More header bytes than this, over every response of the transfer (a 401 challenge
    /// and the answer after it), end it as `HTTPClientError.headersTooLarge`. libcurl before
    /// 8.3 keeps any amount of headers in memory.
    public var maxHeaderBytes: Int
    /// Size of libcurl's receive buffer for this transfer (`CURLOPT_BUFFERSIZE`, at least
    /// 1 KiB), nil for libcurl's 16 KiB default. The buffer lives as long as the transfer, so
    /// thousands of concurrent polls of small bodies ask for a small one; the size bounds each
    /// read, not the body (`maxResponseBytes` does that).
    public var receiveBufferBytes: Int?
    /// A proxy to send through (`CURLOPT_PROXY`): `http://`, `https://` or `socks5://` with
    /// host and port; nil for none (libcurl then follows the `https_proxy` family of
    /// environment variables, as Go clients do).
    public var proxy: String?
    /// For long-lived responses (watches): TCP keepalive probes, so that a connection whose
    /// peer vanished without a word (a NAT entry dropped, a node gone) fails within about a
    /// minute instead of waiting out the transfer's timeout.
    public var keepAlive: Bool
    /// For long-lived responses: the transfer ends as timed out when no byte arrived for
    /// this many seconds (`CURLOPT_LOW_SPEED_TIME` at 1 byte/s); nil for no such bound.
    public var idleTimeoutSeconds: Int?

    /// Creates a request.
    public init(
        url: String,
        method: String = "GET",
        headers: [String] = [],
        body: [UInt8]? = nil,
        authentication: HTTPAuthentication? = nil,
        tls: TLSOptions = TLSOptions(),
        timeoutMilliseconds: Int = 5000,
        maxResponseBytes: Int = 1 << 20,
        maxHeaderBytes: Int = HTTPRequest.defaultMaxHeaderBytes,
        receiveBufferBytes: Int? = nil,
        proxy: String? = nil,
        keepAlive: Bool = false,
        idleTimeoutSeconds: Int? = nil,
        connectTimeoutMilliseconds: Int? = nil
    ) {
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.authentication = authentication
        self.tls = tls
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxResponseBytes = maxResponseBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.receiveBufferBytes = receiveBufferBytes
        self.proxy = proxy
        self.keepAlive = keepAlive
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    /// The default header limit, 16 KiB: a Shelly plug sends about 150 bytes of headers, the
    /// Kubernetes API server about 500.
    public static let defaultMaxHeaderBytes = 16 * 1024
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    /// Status code of the final response.
    public var status: Int
    /// The body.
    public var body: [UInt8]
    /// When the client's thread had the whole response, unix nanoseconds (nil for a response
    /// made by hand). The caller may resume much later on a busy machine: a reading's time is
    /// taken from this, not from the caller's own clock after `perform` returned.
    public var completedNanoseconds: Int64?
    /// The final response's header lines as received (`Name: value` and CRLF each, no status
    /// line). Kept raw and parsed only when asked: most callers (every plug poll) never read
    /// a header, and thousands of polls a second should not build strings for them.
    private var headerBytes: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.body = body
        self.headerBytes = Self.serialize(headers)
    }

    /// Creates a response from the raw header lines of the final response, completed at
    /// `completedNanoseconds` (unix).
    init(status: Int, headerBytes: [UInt8], body: [UInt8], completedNanoseconds: Int64) {
        self.status = status
        self.body = body
        self.headerBytes = headerBytes
        self.completedNanoseconds = completedNanoseconds
    }

    /// Header fields of the final response, names lower-cased, values trimmed, in order.
    public var headers: [(name: String, value: String)] {
        get {
            var fields: [(name: String, value: String)] = []
            Self.forEachField(in: headerBytes) { name, value in
                fields.append((name: String(decoding: name, as: UTF8.self).lowercased(), value: String(decoding: value, as: UTF8.self)))
                return true
            }
            return fields
        }
        set {
            headerBytes = Self.serialize(newValue)
        }
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = Array(name.utf8)
        var found: String?
        Self.forEachField(in: headerBytes) { fieldName, value in
            guard Self.equalIgnoringASCIICase(fieldName, wanted) else { return true }
            found = String(decoding: value, as: UTF8.self)
            return false
        }
        return found
    }

    private static func serialize(_ headers: [(name: String, value: String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in headers {
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: ": ".utf8)
            bytes.append(contentsOf: value.utf8)
            bytes.append(contentsOf: "\r\n".utf8)
        }
        return bytes
    }

    /// Calls `body` with the name and the whitespace-trimmed value of every `Name: value` line
    /// until it returns false. Lines without a colon (and the blank end line) are skipped.
    private static func forEachField(in bytes: [UInt8], _ body: (ArraySlice<UInt8>, ArraySlice<UInt8>) -> Bool) {
        var lineStart = bytes.startIndex
        while lineStart < bytes.endIndex {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let line = bytes[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            if !body(line[..<colon], trimmed(line[(colon + 1)...])) { return }
        }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        var slice = bytes
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        return slice
    }

    private static func equalIgnoringASCIICase(_ bytes: ArraySlice<UInt8>, _ other: [UInt8]) -> Bool {
        guard bytes.count == other.count else { return false }
        func lower(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
        return zip(bytes, other).allSatisfy { lower($0) == lower($1) }
    }
}

/// Why a transfer produced no response.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The timeout expired.
    case timeout
    /// No connection could be made (refused, unreachable, name not resolved).
    case connect(String)
    /// TLS failed, e.g. the server's certificate is not trusted.
    case tls(String)
    /// The body was larger than the request allowed.
    case responseTooLarge(limit: Int)
    /// The response headers were larger than the request allowed.
    case headersTooLarge(limit: Int)
    /// Any other transport failure.
    case transport(String)
    /// The client was shut down before the transfer finished.
    case shutdown

    /// One readable line.
    public var description: String {
        switch self {
        case .timeout: "timed out"
        case .connect(let message): "cannot connect: \(message)"
        case .tls(let message): "TLS failure: \(message)"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        case .headersTooLarge(let limit): "response headers larger than \(limit) bytes"
        case .transport(let message): "transfer failed: \(message)"
        case .shutdown: "client shut down"
        }
    }
}

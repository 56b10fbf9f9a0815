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

    /// Creates TLS options; by default the system CA bundle and full verification.
    public init(
        caFile: String? = nil,
        caPEM: [UInt8]? = nil,
        clientCertificateFile: String? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyFile: String? = nil,
        clientKeyPEM: [UInt8]? = nil,
        insecureSkipVerify: Bool = false
    ) {
        self.caFile = caFile
        self.caPEM = caPEM
        self.clientCertificateFile = clientCertificateFile
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyFile = clientKeyFile
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
    }
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
    /// Larger bodies are cut off and reported as `HTTPClientError.responseTooLarge`.
    public var maxResponseBytes: Int

    /// Creates a request.
    public init(
        url: String,
        method: String = "GET",
        headers: [String] = [],
        body: [UInt8]? = nil,
        authentication: HTTPAuthentication? = nil,
        tls: TLSOptions = TLSOptions(),
        timeoutMilliseconds: Int = 5000,
        maxResponseBytes: Int = 1 << 20
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.authentication = authentication
        self.tls = tls
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxResponseBytes = maxResponseBytes
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    /// Status code of the final response.
    public var status: Int
    /// Header fields of the final response, names lower-cased.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
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
        case .transport(let message): "transfer failed: \(message)"
        case .shutdown: "client shut down"
        }
    }
}

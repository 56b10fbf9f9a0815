import CurlClient

/// Where the Kubernetes API server is and how to authenticate to it: the result of reading
/// an in-cluster service account or a kubeconfig context.
public struct KubernetesConnection: Sendable {
    /// How requests prove who they are, besides a client certificate in `tls`.
    public enum Credentials: Sendable, Equatable, CustomStringConvertible {
        /// No bearer token (anonymous, or a client certificate alone).
        case none
        /// A fixed bearer token (kubeconfig `token`).
        case token(String)
        /// A bearer token read from a file that may be rotated (service-account tokens,
        /// kubeconfig `tokenFile`): re-read periodically and after every 401.
        case tokenFile(String)
        /// An exec credential plugin (kubeconfig `exec`): a token and/or client certificate,
        /// fetched when needed, kept until it expires, fetched again after a 401.
        case exec(ExecCredentialPlugin)

        /// Names the kind of credential, never the secret.
        public var description: String {
            switch self {
            case .none: "none"
            case .token: "token"
            case .tokenFile(let path): "tokenFile(\(path))"
            case .exec(let plugin): "\(plugin)"
            }
        }
    }

    /// Base URL of the API server, e.g. `https://10.96.0.1:443`, without a trailing slash.
    public var server: String
    /// CA, client certificate and verification settings.
    public var tls: TLSOptions
    /// Bearer token source.
    public var credentials: Credentials
    /// The proxy requests go through (kubeconfig `proxy-url`: `http`, `https` or `socks5`).
    public var proxyURL: String?
    /// Whom requests act as (kubeconfig `as`, `as-uid`, `as-groups`, `as-user-extra`).
    public var impersonation: Impersonation?
    /// Where this came from, for logs: `in-cluster` or `kubeconfig PATH (context NAME)`.
    public var origin: String

    /// Creates a connection.
    public init(
        server: String, tls: TLSOptions = TLSOptions(), credentials: Credentials = .none, proxyURL: String? = nil,
        impersonation: Impersonation? = nil, origin: String = "explicit"
    ) {
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        self.server = server
        self.tls = tls
        self.credentials = credentials
        self.proxyURL = proxyURL
        self.impersonation = impersonation
        self.origin = origin
    }
}

import CurlClient

/// The result of one write to the API server, classified by what the caller should do next.
public enum PatchOutcome: Sendable, Equatable, CustomStringConvertible {
    /// Written.
    case ok
    /// 401 even after reading the token again and retrying once: the credentials are wrong.
    case unauthorized(APIStatus)
    /// A 4xx such as 403 (RBAC), 404 (no such node) or 422 (invalid): the same request will
    /// fail again until someone changes the cluster or the configuration.
    case rejected(APIStatus)
    /// 429: come back after `retryAfterSeconds` (from `Retry-After`; nil when absent).
    case throttled(APIStatus, retryAfterSeconds: Double?)
    /// 5xx: the server is unwell; retry with backoff.
    case unavailable(APIStatus)
    /// No response: connection refused, timeout, TLS failure (an untrusted server).
    case transport(HTTPClientError)
    /// Not sent: no credentials to send (an exec plugin failed, hung or is not installed).
    /// The message is one line naming the plugin and what to do.
    case credentials(String)

    /// Whether the write succeeded.
    public var isSuccess: Bool { self == .ok }

    /// One line for logs.
    public var description: String {
        switch self {
        case .ok: "ok"
        case .unauthorized(let status): "unauthorized: \(status)"
        case .rejected(let status): "rejected: \(status)"
        case .throttled(let status, let seconds):
            "throttled: \(status)\(seconds.map { " (Retry-After \($0)s)" } ?? "")"
        case .unavailable(let status): "server error: \(status)"
        case .transport(let error): "\(error)"
        case .credentials(let message): "no credentials: \(message)"
        }
    }
}

/// Something that can write node annotations: the API client, or a test double.
public protocol NodeAnnotationPatching: Sendable {
    /// Merges `annotations` into the node's `metadata.annotations` with one request.
    func patchNodeAnnotations(node: String, annotations: [String: String]) async -> PatchOutcome
}

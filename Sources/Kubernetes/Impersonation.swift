import Foundation

/// Whom requests act as, through the API server's impersonation headers (kubeconfig `as`,
/// `as-uid`, `as-groups`, `as-user-extra`; `kubectl --as`). The account the credentials name
/// needs RBAC's `impersonate` verb on these.
public struct Impersonation: Sendable, Equatable {
    /// `Impersonate-User`.
    public var user: String
    /// `Impersonate-Uid`.
    public var uid: String?
    /// One `Impersonate-Group` header each.
    public var groups: [String]
    /// `Impersonate-Extra-KEY`, one header per value.
    public var extra: [String: [String]]

    /// Creates an impersonation.
    public init(user: String, uid: String? = nil, groups: [String] = [], extra: [String: [String]] = [:]) {
        self.user = user
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    /// The request header lines.
    public var headers: [String] {
        var lines = ["Impersonate-User: \(user)"]
        if let uid { lines.append("Impersonate-Uid: \(uid)") }
        lines += groups.map { "Impersonate-Group: \($0)" }
        for key in extra.keys.sorted() {
            // Header names carry the key percent-encoded, as client-go writes them.
            let name = key.addingPercentEncoding(withAllowedCharacters: Self.tokenCharacters) ?? key
            lines += (extra[key] ?? []).map { "Impersonate-Extra-\(name): \($0)" }
        }
        return lines
    }

    /// RFC 7230 token characters, less `%`.
    private static let tokenCharacters = CharacterSet(
        charactersIn: "!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

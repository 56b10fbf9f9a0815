import Foundation
import Synchronization
import UserInput

/// The bearer token of a connection. A token file is re-read when the cached copy is older
/// than `refreshInterval` and after the API server answered 401, because the kubelet rotates
/// projected service-account tokens. The token never leaves this type except into the
/// `Authorization` header.
final class TokenSource: Sendable {
    private struct Cache {
        var token: String?
        var readAt: ContinuousClock.Instant?
    }

    private let credentials: KubernetesConnection.Credentials
    private let refreshInterval: Duration
    private let cache = Mutex(Cache())

    init(credentials: KubernetesConnection.Credentials, refreshInterval: Duration) {
        self.credentials = credentials
        self.refreshInterval = refreshInterval
    }

    /// Whether a 401 can be cured by reading the token again.
    var isRenewable: Bool {
        if case .tokenFile = credentials { return true }
        return false
    }

    /// The token to send, nil for none. Reading a token file is a small local read; a file
    /// that cannot be read keeps the previous token (the next 401 will tell) or yields nil.
    func current() -> String? {
        switch credentials {
        case .none:
            return nil
        case .token(let token):
            return token
        case .tokenFile(let path):
            let now = ContinuousClock.now
            if let cached = cache.withLock({ cache -> String? in
                guard let readAt = cache.readAt, now - readAt < refreshInterval else { return nil }
                return cache.token
            }) {
                return cached
            }
            let fresh = Self.read(path)
            return cache.withLock { cache in
                if let fresh { cache.token = fresh }
                cache.readAt = now
                return cache.token
            }
        }
    }

    /// Forgets the cached token so the next request reads the file again.
    func invalidate() {
        cache.withLock { $0.readAt = nil }
    }

    /// The largest token file read: projected service-account tokens have about 1 KB.
    static let maxTokenBytes = 64 << 10

    /// The token in the file at `path`, through ``UserFile``: a regular file of bounded size,
    /// so a FIFO or a device in its place cannot hold up the requests that need the token.
    private static func read(_ path: String) -> String? {
        guard let text = try? UserFile(path: path, maxBytes: maxTokenBytes, timeout: .seconds(2)).text() else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }
}

import EnergyModel
import Foundation
import Synchronization
import UserInput

/// What one request carries to prove who it is.
struct RequestCredential: Sendable, Equatable {
    /// `Authorization: Bearer` token.
    var token: String?
    /// A client certificate and key from an exec plugin (PEM).
    var clientCertificatePEM: [UInt8]?
    var clientKeyPEM: [UInt8]?
    /// Which fetch of the source this is: a 401 forgets the cached credential only when it
    /// is still the one the refused request carried (another request may have renewed it).
    var generation: Int = 0

    static let none = RequestCredential()
}

/// The credentials of a connection. A token file is re-read when the cached copy is older
/// than `refreshInterval` and after the API server answered 401, because the kubelet rotates
/// projected service-account tokens; `tokenFile` wins over `token`, as in client-go. An exec
/// plugin runs when there is no credential yet, when the one it gave has expired
/// (`expirationTimestamp`) and after a 401; requests that need it meanwhile wait for the same
/// run, as client-go runs one plugin at a time. Secrets never leave this type except into
/// the request.
final class CredentialSource: Sendable {
    private struct Cache {
        var token: String?
        var readAt: ContinuousClock.Instant?
        var exec: ExecCredential?
        var generation = 0
        var running: Task<ExecCredential, any Error>?
    }

    private let credentials: KubernetesConnection.Credentials
    private let refreshInterval: Duration
    private let cache = Mutex(Cache())

    init(credentials: KubernetesConnection.Credentials, refreshInterval: Duration) {
        self.credentials = credentials
        self.refreshInterval = refreshInterval
    }

    /// Whether a 401 can be cured by fetching the credential again.
    var isRenewable: Bool {
        switch credentials {
        case .tokenFile, .exec: true
        case .none, .token: false
        }
    }

    /// The credential to send now.
    func current() async throws(KubernetesRequestError) -> RequestCredential {
        switch credentials {
        case .none:
            return .none
        case .token(let token):
            return RequestCredential(token: token)
        case .tokenFile(let path):
            return RequestCredential(token: fileToken(path))
        case .exec(let plugin):
            return try await execCredential(plugin)
        }
    }

    /// Forgets the credential `used` carried (a 401 refused it), so that the next request
    /// fetches a new one.
    func invalidate(after used: RequestCredential) {
        cache.withLock { cache in
            cache.readAt = nil
            if cache.generation == used.generation { cache.exec = nil }
        }
    }

    // MARK: - Token files

    /// The token to send, nil for none. Reading a token file is a small local read; a file
    /// that cannot be read keeps the previous token (the next 401 will tell) or yields nil.
    private func fileToken(_ path: String) -> String? {
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

    /// The largest token file read: projected service-account tokens have about 1 KB.
    static let maxTokenBytes = 64 << 10

    /// The token in the file at `path`, through ``UserFile``: a regular file of bounded size,
    /// so a FIFO or a device in its place cannot hold up the requests that need the token.
    private static func read(_ path: String) -> String? {
        guard let text = try? UserFile(path: path, maxBytes: maxTokenBytes, timeout: .seconds(2)).text() else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    // MARK: - Exec plugins

    private func execCredential(_ plugin: ExecCredentialPlugin) async throws(KubernetesRequestError)
        -> RequestCredential
    {
        enum Step {
            case cached(RequestCredential)
            case wait(Task<ExecCredential, any Error>)
        }
        let now = WallClock.nowMilliseconds()
        let step: Step = cache.withLock { cache in
            if let exec = cache.exec, exec.expiresMilliseconds.map({ now < $0 }) ?? true {
                return .cached(Self.credential(exec, generation: cache.generation))
            }
            if let running = cache.running { return .wait(running) }
            let running = Task { () throws -> ExecCredential in try await plugin.fetch() }
            cache.running = running
            return .wait(running)
        }
        let task: Task<ExecCredential, any Error>
        switch step {
        case .cached(let credential): return credential
        case .wait(let running): task = running
        }
        let result = await task.result
        return try cache.withLock { cache throws(KubernetesRequestError) -> RequestCredential in
            if cache.running == task {
                cache.running = nil
                if case .success(let exec) = result {
                    cache.exec = exec
                    cache.generation += 1
                }
            }
            switch result {
            case .success(let exec):
                return Self.credential(exec, generation: cache.generation)
            case .failure(let error as KubernetesRequestError):
                throw error
            case .failure(let error):
                throw KubernetesRequestError(failure: .credentials("exec plugin \(plugin.command): \(error)"))
            }
        }
    }

    private static func credential(_ exec: ExecCredential, generation: Int) -> RequestCredential {
        RequestCredential(
            token: exec.token, clientCertificatePEM: exec.clientCertificatePEM, clientKeyPEM: exec.clientKeyPEM,
            generation: generation)
    }
}

import Logging
import Synchronization
import UserInput

/// Keeps a knowledge base in step with its file, for a long-running server.
///
/// `run()` polls the file every ``pollInterval``: it `stat`s the path (following symlinks) and
/// re-reads it only when device, inode, size or modification time changed. That catches an
/// in-place edit, an editor's atomic save and the Kubernetes ConfigMap volume update, where the
/// kubelet points the `..data` symlink at a new directory in one rename, so the mounted
/// `profiles.yaml` resolves to a new inode. Polling rather than inotify because inotify watches
/// inodes, and the inode of a ConfigMap file is replaced, not modified.
///
/// An edit that does not load (bad YAML, a negative figure, a missing file) is rejected: the
/// last good knowledge base stays ``current`` and the error is logged and kept in ``lastError``.
///
/// A final class around a `Mutex` rather than an actor so request handlers read ``current``
/// synchronously, without a suspension point per scheduling request.
public final class KnowledgeBaseWatcher: Sendable {
    /// What one check of the file found.
    public enum Change: Sendable, Hashable {
        /// The file is as last seen (or only its metadata changed, not its content).
        case unchanged
        /// A new valid version was loaded; `generation` counts loads, starting at 1.
        case reloaded(generation: Int)
        /// The file changed but does not load; the previous knowledge base stays in use.
        case rejected(KnowledgeBaseError)
    }

    private struct State {
        var knowledgeBase: KnowledgeBase
        var generation: Int
        var lastError: KnowledgeBaseError?
        /// The signature last looked at, valid or not, so a broken file is reported once and
        /// not on every poll.
        var seenSignature: UserFile.Identity?
        /// The bytes of the loaded version, to ignore changes that touch only metadata.
        var loadedContent: [UInt8]
    }

    /// The watched path (typically the ConfigMap volume's `profiles.yaml`).
    public let path: String
    /// How often `run()` looks at the file.
    public let pollInterval: Duration
    private let logger: Logger
    private let state: Mutex<State>

    /// Loads `path` once; throws when that first version is unusable, since there is no
    /// previous version to fall back to.
    public init(path: String, pollInterval: Duration = .seconds(1), logger: Logger) throws(KnowledgeBaseError) {
        let snapshot = try KnowledgeBase.read(path)
        let knowledgeBase = try KnowledgeBase(file: snapshot)
        self.path = path
        self.pollInterval = pollInterval
        self.logger = logger
        self.state = Mutex(
            State(
                knowledgeBase: knowledgeBase,
                generation: 1,
                lastError: nil,
                seenSignature: snapshot.identity,
                loadedContent: snapshot.bytes
            )
        )
        logger.info(
            "knowledge base loaded",
            metadata: ["path": .string(path), "profiles": .string(knowledgeBase.profileNames.joined(separator: ","))]
        )
    }

    /// The knowledge base in use: the last version that loaded.
    public var current: KnowledgeBase { state.withLock { $0.knowledgeBase } }
    /// How many versions have loaded, counting the initial one.
    public var generation: Int { state.withLock { $0.generation } }
    /// Why the file's present version was rejected; nil while the file is valid.
    public var lastError: KnowledgeBaseError? { state.withLock { $0.lastError } }

    /// Looks at the file once and loads it if it changed.
    @discardableResult
    public func checkNow() -> Change {
        let seen = state.withLock { $0.seenSignature }
        let snapshot: UserFile
        do {
            // A cheap stat first: most polls find nothing new and should not read the file.
            if try Self.identity(of: path) == seen { return .unchanged }
            snapshot = try KnowledgeBase.read(path)
        } catch {
            return reject(error, signature: nil)
        }
        if state.withLock({ $0.loadedContent == snapshot.bytes }) {
            state.withLock {
                $0.seenSignature = snapshot.identity
                $0.lastError = nil
            }
            return .unchanged
        }
        let knowledgeBase: KnowledgeBase
        do {
            knowledgeBase = try KnowledgeBase(file: snapshot)
        } catch {
            return reject(error, signature: snapshot.identity)
        }
        let generation = state.withLock { state in
            state.knowledgeBase = knowledgeBase
            state.generation += 1
            state.lastError = nil
            state.seenSignature = snapshot.identity
            state.loadedContent = snapshot.bytes
            return state.generation
        }
        logger.info(
            "knowledge base reloaded",
            metadata: [
                "path": .string(path), "generation": .stringConvertible(generation),
                "profiles": .string(knowledgeBase.profileNames.joined(separator: ",")),
            ]
        )
        return .reloaded(generation: generation)
    }

    /// Polls until the surrounding task is cancelled, then returns.
    ///
    /// Each check is a `stat` and, on change, a read of a regular file of at most
    /// ``KnowledgeBase/maxFileBytes`` composed within ``YAMLLimits``: short enough for the
    /// cooperative pool. (The extender's reloader runs its checks on a thread of its own with a
    /// time bound, for file systems that hang.)
    public func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return  // cancelled while sleeping
            }
            checkNow()
        }
    }

    /// The identity of what `path` resolves to now, as ``UserFile`` reports it.
    private static func identity(of path: String) throws(KnowledgeBaseError) -> UserFile.Identity {
        do {
            return try UserFile.identity(of: path)
        } catch {
            throw error.keyPathError
        }
    }

    private func reject(_ error: KnowledgeBaseError, signature: UserFile.Identity?) -> Change {
        let isNew = state.withLock { state in
            let isNew = state.lastError != error
            state.lastError = error
            // Without a signature (file unreadable) nothing is remembered, so the next poll
            // retries; the error is still logged only when it differs from the last one.
            state.seenSignature = signature
            return isNew
        }
        if isNew {
            logger.error(
                "knowledge base change rejected; keeping the previous version",
                metadata: ["path": .string(path), "error": .string(error.description)]
            )
        }
        return .rejected(error)
    }
}

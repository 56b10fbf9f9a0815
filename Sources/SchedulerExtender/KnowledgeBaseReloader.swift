import Logging
import Scoring
import ServiceLifecycle

/// Keeps the extender's knowledge base in step with its file: every `pollInterval` it asks the
/// watcher to look at the file and counts what it found into the metrics. A rejected edit
/// leaves the last good knowledge base in use (the watcher logs why).
///
/// A loop of its own rather than ``KnowledgeBaseWatcher/run()`` because the metrics need the
/// outcome of each check, which `run()` keeps to itself.
public struct KnowledgeBaseReloader: Service {
    /// The watcher that owns the knowledge base.
    public let watcher: KnowledgeBaseWatcher
    /// Where reloads and rejections are counted.
    public let metrics: ExtenderMetrics

    /// Creates a reloader polling at the watcher's ``KnowledgeBaseWatcher/pollInterval``.
    public init(watcher: KnowledgeBaseWatcher, metrics: ExtenderMetrics) {
        self.watcher = watcher
        self.metrics = metrics
    }

    /// Polls until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: watcher.pollInterval)
                } catch {
                    return  // cancelled while sleeping
                }
                checkOnce()
            }
        }
    }

    /// Looks at the file once and records the outcome; returns what the watcher found.
    ///
    /// A problem that persists (a file that stays missing is retried on every poll) is
    /// counted once, when it first appears, so the error counter counts bad edits, not polls.
    @discardableResult
    public func checkOnce() -> KnowledgeBaseWatcher.Change {
        let previousError = watcher.lastError
        let change = watcher.checkNow()
        let isNew: Bool
        if case .rejected(let error) = change {
            isNew = error != previousError
        } else {
            isNew = true
        }
        metrics.recordKnowledgeBase(
            isNew ? change : .unchanged,
            generation: watcher.generation,
            valid: watcher.lastError == nil
        )
        return change
    }
}

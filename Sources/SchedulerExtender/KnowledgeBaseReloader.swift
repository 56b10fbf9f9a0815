import Dispatch
import Logging
import Scoring
import ServiceLifecycle
import Synchronization
import UserInput

/// Keeps the extender's knowledge base in step with its file: every `pollInterval` it asks the
/// watcher to look at the file and counts what it found into the metrics. A rejected edit
/// leaves the last good knowledge base in use (the watcher logs why).
///
/// A loop of its own rather than ``KnowledgeBaseWatcher/run()`` because the metrics need the
/// outcome of each check, which `run()` keeps to itself; and because each check runs on a
/// thread of its own with a time bound. A file that cannot be read in time (a hung network
/// file system) is counted as a rejected change and the knowledge base as not valid, the
/// previous version stays in use, no second check piles up behind the stuck one, and shutdown
/// does not wait for it.
public struct KnowledgeBaseReloader: Service {
    /// The watcher that owns the knowledge base.
    public let watcher: KnowledgeBaseWatcher
    /// Where reloads and rejections are counted.
    public let metrics: ExtenderMetrics
    /// How long one look at the file may take before it counts as a failed reload.
    public let checkTimeout: Duration
    private let logger: Logger
    private let queue = DispatchQueue(label: "energy-monitor.knowledge-base-reload")
    private let progress = Progress()

    /// Creates a reloader polling at the watcher's ``KnowledgeBaseWatcher/pollInterval``.
    public init(
        watcher: KnowledgeBaseWatcher, metrics: ExtenderMetrics, checkTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "energy-monitor.extender")
    ) {
        self.watcher = watcher
        self.metrics = metrics
        self.checkTimeout = checkTimeout
        self.logger = logger
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
                await checkInBackground()
            }
        }
    }

    /// Runs ``checkOnce()`` on the reload thread and waits for it at most ``checkTimeout``.
    /// While an earlier check is still running nothing new starts; a check that overran is
    /// reported once.
    func checkInBackground() async {
        guard progress.begin() else {
            reportStuck()
            return
        }
        let finished = await BlockingCall.run(on: queue, timeout: checkTimeout) { [self] in
            checkOnce()
            progress.end()
            return true
        }
        if finished == nil, !Task.isCancelled { reportStuck() }
    }

    private func reportStuck() {
        guard progress.markReported() else { return }
        let error = KeyPathError(
            file: watcher.path, keyPath: "",
            message: "still not read after \(checkTimeout); keeping the previous version")
        logger.error(
            "knowledge base reload stuck",
            metadata: ["path": .string(watcher.path), "error": .string(error.description)])
        metrics.recordKnowledgeBase(.rejected(error), generation: watcher.generation, valid: false)
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

    /// Whether a check is running, and whether its overrun was reported.
    private final class Progress: Sendable {
        private struct State {
            var running = false
            var reported = false
        }

        private let state = Mutex(State())

        /// Marks a check as started; false while one is still running.
        func begin() -> Bool {
            state.withLock { state in
                guard !state.running else { return false }
                state.running = true
                state.reported = false
                return true
            }
        }

        func end() {
            state.withLock { $0.running = false }
        }

        /// True the first time an overrun of the running check is reported.
        func markReported() -> Bool {
            state.withLock { state in
                guard state.running, !state.reported else { return false }
                state.reported = true
                return true
            }
        }
    }
}

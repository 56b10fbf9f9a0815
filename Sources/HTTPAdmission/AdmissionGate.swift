import Synchronization

/// How many requests an HTTP server works on at once, shared by all its connections: beyond
/// `limit`, a request is answered at once with `503 Service Unavailable` and `Retry-After`
/// instead of joining a queue that a flood makes endless.
public final class AdmissionGate: Sendable {
    /// Most requests in progress at once.
    public let limit: Int
    /// Seconds a refused client is told to wait (`Retry-After`).
    public let retryAfterSeconds: Int
    private let inProgress = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)
    private let onRefusal: @Sendable () -> Void

    /// A gate admitting `limit` requests at once; `onRefusal` is called for every refused one
    /// (on an event loop: it must be quick, e.g. a counter).
    public init(limit: Int, retryAfterSeconds: Int = 1, onRefusal: @escaping @Sendable () -> Void = {}) {
        self.limit = max(1, limit)
        self.retryAfterSeconds = max(1, retryAfterSeconds)
        self.onRefusal = onRefusal
    }

    /// Requests in progress now.
    public var current: Int { inProgress.load(ordering: .relaxed) }

    /// Requests refused so far.
    public var refused: Int { refusedCount.load(ordering: .relaxed) }

    /// Takes a place if one is free.
    func tryAcquire() -> Bool {
        var current = inProgress.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = inProgress.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a place back.
    func release() {
        inProgress.subtract(1, ordering: .releasing)
    }

    /// Counts a refused request.
    func recordRefusal() {
        refusedCount.add(1, ordering: .relaxed)
        onRefusal()
    }
}

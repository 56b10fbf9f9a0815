import JSON

/// Follows objects for as long as the caller iterates, the way client-go's reflector does:
/// list (or get) once for the current state and its resource version, watch from there,
/// resume the watch from the last event's resource version whenever it ends or breaks.
///
/// After `410 Gone` (the version is older than the server keeps: a compaction, an API server
/// restart or upgrade) the current state is read again by listing (``Recovery/list``: a
/// list's resource version is the current one) or, where only one object is followed and the
/// caller may not list (a Job the runner may only get and watch), by a watch without a
/// resource version (``Recovery/watchFromNow``), which starts with the current object as an
/// `ADDED` event. A GET would not do: an object's own resource version is the version at
/// which it last changed, which after a restart is just as gone, and watching from it again
/// ends in `410` again, as fast as round trips allow.
///
/// Waits, as the reflector's: repeated `410`s, watches that end within a second without an
/// event, `5xx` and connection failures back off exponentially with jitter from
/// `RetryPolicy`'s base to its cap, the steps starting over after two minutes without a wait;
/// `429` waits for `Retry-After`. A watch that stays silent for `idleSeconds` (no event and
/// no bookmark) counts as broken and is resumed. A refusal (401, 403, 404) or `patience` of
/// consecutive failures ends the stream with the error.
public struct ResumableWatch: Sendable {
    /// What the stream delivers.
    public enum Update: Sendable, Equatable {
        /// The full current state (at the start, and after `410 Gone` with ``Recovery/list``).
        case listed([JSONValue])
        /// A change (after `410 Gone` with ``Recovery/watchFromNow``, first the current
        /// objects as `ADDED`).
        case event(WatchEvent)
    }

    /// A listing: the objects and the resource version to watch from.
    public typealias Listing = (objects: [JSONValue], resourceVersion: String)

    /// How the current state is read again after `410 Gone`.
    public enum Recovery: Sendable {
        /// With `list` (a collection's list: its resource version is the current one).
        case list
        /// With a watch without a resource version, which starts with every current object.
        case watchFromNow
    }

    /// The steps of the backoff start over after this long without a wait (client-go: 2 min).
    public static let backoffResetMilliseconds: Int64 = 120_000

    private let client: KubernetesClient
    private let watchPath: String
    private let list: @Sendable () async throws(KubernetesRequestError) -> Listing
    private let retry: RetryPolicy
    private let timeoutSeconds: Int
    private let idleSeconds: Int
    private let patienceMilliseconds: Int64
    private let recovery: Recovery
    private let onRetry: @Sendable (KubernetesRequestError, Int64) -> Void

    /// Watches `watchPath` (a collection with its selectors), listing with `list`.
    /// `onRetry` hears every failure that is waited out, with the wait in milliseconds.
    public init(
        client: KubernetesClient,
        watchPath: String,
        retry: RetryPolicy = .standard,
        timeoutSeconds: Int = 300,
        idleSeconds: Int = KubernetesClient.defaultWatchIdleSeconds,
        patienceMilliseconds: Int64 = 300_000,
        afterGone recovery: Recovery = .list,
        onRetry: @escaping @Sendable (KubernetesRequestError, Int64) -> Void = { _, _ in },
        list: @escaping @Sendable () async throws(KubernetesRequestError) -> Listing
    ) {
        self.client = client
        self.watchPath = watchPath
        self.list = list
        self.retry = retry
        self.timeoutSeconds = timeoutSeconds
        self.idleSeconds = idleSeconds
        self.patienceMilliseconds = patienceMilliseconds
        self.recovery = recovery
        self.onRetry = onRetry
    }

    /// The updates; stopping the iteration ends the watch.
    public func updates() -> AsyncThrowingStream<Update, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Update.self)
        let task = Task {
            do {
                try await follow(continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error is CancellationError ? nil : error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The reflector's backoff: exponential with jitter, starting over after two minutes
    /// without a wait.
    private struct Backoff {
        let retry: RetryPolicy
        var steps = 0
        var lastWait: ContinuousClock.Instant?

        mutating func next() -> Int64 {
            let now = ContinuousClock.now
            if let lastWait, now - lastWait > .milliseconds(ResumableWatch.backoffResetMilliseconds) { steps = 0 }
            steps += 1
            lastWait = now
            return retry.backoffMilliseconds(failures: steps, jitter: Double.random(in: 0..<1))
        }
    }

    private func follow(_ continuation: AsyncThrowingStream<Update, any Error>.Continuation) async throws {
        var resourceVersion: String?
        // True while the current state comes from a watch without a resource version: its
        // first events are the objects as `ADDED`, in no order of versions, so their versions
        // are no place to resume from until another kind of event (a bookmark) arrives.
        var fromNow = false
        var backoff = Backoff(retry: retry)
        var failures = 0
        var failingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            let started = ContinuousClock.now
            var events = 0
            do {
                if resourceVersion == nil, !fromNow {
                    let listing = try await list()
                    continuation.yield(.listed(listing.objects))
                    resourceVersion = listing.resourceVersion
                }
                for try await event in client.watch(
                    path: watchPath, resourceVersion: fromNow ? nil : resourceVersion, timeoutSeconds: timeoutSeconds,
                    idleSeconds: idleSeconds)
                {
                    events += 1
                    failures = 0
                    failingSince = nil
                    if fromNow, event.kind != .added {
                        fromNow = false
                    }
                    if !fromNow, let version = event.resourceVersion { resourceVersion = version }
                    if event.kind != .bookmark { continuation.yield(.event(event)) }
                }
                // The server ended the watch (its timeout): resume where it stopped, at once,
                // unless it ended as soon as it began.
                if events == 0, ContinuousClock.now - started < .seconds(1) {
                    let delay = backoff.next()
                    onRetry(
                        KubernetesRequestError(
                            failure: .transport(.transport("very short watch: it ended within a second without an event"))),
                        delay)
                    try await Task.sleep(for: .milliseconds(delay))
                }
            } catch let error as KubernetesRequestError {
                if error.isGone {
                    // Too old to resume: read the current state again, after a wait that
                    // grows while the 410s repeat.
                    resourceVersion = nil
                    fromNow = recovery == .watchFromNow
                    let delay = backoff.next()
                    onRetry(error, delay)
                    try await Task.sleep(for: .milliseconds(delay))
                    continue
                }
                failures += 1
                let since = failingSince ?? ContinuousClock.now
                failingSince = since
                guard let delay = waitMilliseconds(after: error, backoff: &backoff),
                    ContinuousClock.now - since + .milliseconds(delay) <= .milliseconds(patienceMilliseconds)
                else { throw error }
                onRetry(error, delay)
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    /// `Retry-After` for a throttled request, the backoff for failures worth repeating, nil
    /// for refusals.
    private func waitMilliseconds(after error: KubernetesRequestError, backoff: inout Backoff) -> Int64? {
        switch error.failure {
        case .throttled(_, let seconds?): retry.retryAfterMilliseconds(seconds)
        case .throttled(_, nil), .unavailable, .transport: backoff.next()
        case .ok, .unauthorized, .rejected, .credentials: nil
        }
    }
}

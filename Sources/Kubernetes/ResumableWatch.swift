import JSON

/// Follows objects for as long as the caller iterates, the way client-go's reflector does:
/// list (or get) once for the current state and its resource version, watch from there,
/// resume the watch from the last event's resource version whenever it ends or breaks, and
/// list again after `410 Gone`. Throttling and server or connection failures wait as
/// `RetryPolicy` says; a refusal (401, 403, 404) or `patience` of consecutive failures ends
/// the stream with the error.
public struct ResumableWatch: Sendable {
    /// What the stream delivers.
    public enum Update: Sendable, Equatable {
        /// The full current state (at the start and after every `410 Gone`).
        case listed([JSONValue])
        /// A change.
        case event(WatchEvent)
    }

    /// A listing: the objects and the resource version to watch from.
    public typealias Listing = (objects: [JSONValue], resourceVersion: String)

    private let client: KubernetesClient
    private let watchPath: String
    private let list: @Sendable () async throws(KubernetesRequestError) -> Listing
    private let retry: RetryPolicy
    private let timeoutSeconds: Int
    private let patienceMilliseconds: Int64
    private let onRetry: @Sendable (KubernetesRequestError, Int64) -> Void

    /// Watches `watchPath` (a collection with its selectors), listing with `list`.
    /// `onRetry` hears every failure that is waited out, with the wait in milliseconds.
    public init(
        client: KubernetesClient,
        watchPath: String,
        retry: RetryPolicy = .standard,
        timeoutSeconds: Int = 300,
        patienceMilliseconds: Int64 = 300_000,
        onRetry: @escaping @Sendable (KubernetesRequestError, Int64) -> Void = { _, _ in },
        list: @escaping @Sendable () async throws(KubernetesRequestError) -> Listing
    ) {
        self.client = client
        self.watchPath = watchPath
        self.list = list
        self.retry = retry
        self.timeoutSeconds = timeoutSeconds
        self.patienceMilliseconds = patienceMilliseconds
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

    private func follow(_ continuation: AsyncThrowingStream<Update, any Error>.Continuation) async throws {
        var resourceVersion: String?
        var failures = 0
        var failingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let listing = try await list()
                    continuation.yield(.listed(listing.objects))
                    resourceVersion = listing.resourceVersion
                }
                for try await event in client.watch(
                    path: watchPath, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds)
                {
                    if let version = event.resourceVersion { resourceVersion = version }
                    failures = 0
                    failingSince = nil
                    if event.kind != .bookmark { continuation.yield(.event(event)) }
                }
                // The server ended the watch (its timeout): resume where it stopped.
            } catch let error as KubernetesRequestError {
                if error.isGone {
                    // Too old to resume: list again (what a 410 asks for), at once.
                    resourceVersion = nil
                    continue
                }
                failures += 1
                let started = failingSince ?? ContinuousClock.now
                failingSince = started
                guard
                    let delay = retry.delayMilliseconds(
                        after: error.failure, failures: failures, jitter: Double.random(in: 0..<1)),
                    ContinuousClock.now - started + .milliseconds(delay) <= .milliseconds(patienceMilliseconds)
                else { throw error }
                onRetry(error, delay)
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
    }
}

import EnergyModel
import Kubernetes

/// One node's publishing state: the newest unwritten sample (only the latest is kept), the
/// last value written, and when the next write may go out. A pure state machine driven by
/// the caller's clock readings, so every timing rule is testable without sleeping.
public struct AnnotationSchedule: Sendable {
    /// A sample offered for publishing.
    public struct Value: Sendable, Equatable {
        /// Watts.
        public var watts: Double
        /// Unix milliseconds when the sample was taken.
        public var timestampMilliseconds: Int64

        /// Creates a value.
        public init(watts: Double, timestampMilliseconds: Int64) {
            self.watts = watts
            self.timestampMilliseconds = timestampMilliseconds
        }
    }

    /// What the caller should do now.
    public enum Action: Sendable, Equatable {
        /// Nothing to write until a new sample arrives.
        case idle
        /// Nothing to write before unix time `until` (ms), unless a new sample arrives.
        case wait(until: Int64)
        /// Write this value now (the schedule has marked it in flight).
        case write(Value)
    }

    /// What `complete` decided, for logging.
    public struct Completion: Sendable, Equatable {
        /// The write failed the same way as the previous one (do not log it again).
        public var repeatedFailure: Bool
        /// The write succeeded after this many consecutive failures (0 when none).
        public var recoveredAfter: Int
        /// When the next write may start, if held back by a backoff or `Retry-After`.
        public var retryAt: Int64?
    }

    /// The timing rules.
    public let policy: AnnotationPolicy
    /// The newest sample not yet written.
    public private(set) var pending: Value?
    /// Whether `pending` was already attempted once (a failed write put it back).
    private var pendingAttempted = false
    /// The value last written successfully.
    public private(set) var published: Value?
    /// A write is running.
    public private(set) var inFlight = false
    /// When the last write started (ms).
    private var lastAttempt: Int64?
    /// No write before this (ms): backoff or `Retry-After`.
    private var retryAt: Int64?
    /// Consecutive failed writes.
    public private(set) var failures = 0
    private var lastFailure: String?

    /// Creates an empty schedule.
    public init(policy: AnnotationPolicy) {
        self.policy = policy
    }

    /// Keeps `value` as the one to publish. Returns true when it replaced an unwritten,
    /// never-attempted sample (that sample is then "skipped"). Older samples are ignored.
    @discardableResult
    public mutating func offer(_ value: Value) -> (accepted: Bool, replacedUnwritten: Bool) {
        let newest = max(pending?.timestampMilliseconds ?? .min, published?.timestampMilliseconds ?? .min)
        guard value.timestampMilliseconds > newest else { return (false, false) }
        let replaced = pending != nil && !pendingAttempted
        pending = value
        pendingAttempted = false
        return (true, replaced)
    }

    /// Decides at unix time `now` (ms); a `.write` marks the value in flight until
    /// `complete` is called.
    public mutating func nextAction(now: Int64) -> Action {
        guard !inFlight, let candidate = pending else { return .idle }
        var due = Int64.min
        if let published, !policy.exceedsDeadband(published: published.watts, candidate: candidate.watts) {
            // Unchanged: publish before the published `last-updated` (whole seconds) gets
            // older than the heartbeat.
            let publishedSecond = published.timestampMilliseconds.floorDivided(by: 1000) * 1000
            due = publishedSecond + policy.heartbeatMilliseconds - policy.heartbeatLeadMilliseconds
        }
        if let lastAttempt { due = max(due, lastAttempt + policy.minimumIntervalMilliseconds) }
        if let retryAt { due = max(due, retryAt) }
        guard now >= due else { return .wait(until: due) }
        inFlight = true
        lastAttempt = now
        pending = nil
        return .write(candidate)
    }

    /// Records the result of writing `value`, finished at `now` (ms). `jitter` (0..<1)
    /// spreads the backoff.
    public mutating func complete(_ value: Value, outcome: PatchOutcome, now: Int64, jitter: Double) -> Completion {
        inFlight = false
        if outcome.isSuccess {
            let recovered = failures
            failures = 0
            lastFailure = nil
            retryAt = nil
            if value.timestampMilliseconds > published?.timestampMilliseconds ?? .min { published = value }
            return Completion(repeatedFailure: false, recoveredAfter: recovered, retryAt: nil)
        }
        failures += 1
        // Retry the value unless a newer sample arrived meanwhile (latest wins).
        if pending == nil {
            pending = value
            pendingAttempted = true
        }
        let description = Self.failureKey(outcome)
        let repeated = description == lastFailure
        lastFailure = description
        switch outcome {
        case .throttled(_, let seconds?):
            // A `Retry-After` of 10^16 s (or any absurd value) waits as long as the cap allows.
            retryAt = now + policy.retryPolicy.retryAfterMilliseconds(seconds)
        default:
            retryAt = now + policy.backoffMilliseconds(failures: failures, jitter: jitter)
        }
        return Completion(repeatedFailure: repeated, recoveredAfter: 0, retryAt: retryAt)
    }

    /// The same failure twice is logged once: compare by kind and API message.
    private static func failureKey(_ outcome: PatchOutcome) -> String {
        switch outcome {
        case .throttled(let status, _): "throttled \(status.code)"
        default: outcome.description
        }
    }
}

extension Int64 {
    /// Division rounding towards minus infinity (timestamps before 1970 stay consistent).
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

import EnergyModel
import Kubernetes

/// When the publisher writes: the contract's deadband and heartbeat plus the limits that keep
/// it kind to the API server.
public struct AnnotationPolicy: Sendable, Equatable {
    /// The published `last-updated` never gets older than this: an unchanged value is
    /// re-published before then (milliseconds).
    public var heartbeatMilliseconds: Int64
    /// A change larger than this many watts is published at once...
    public var deadbandWatts: Double
    /// ...and so is a change larger than this fraction of the published value (0.05 = 5 %).
    public var relativeDeadband: Double
    /// At most one write per node per this many milliseconds.
    public var minimumIntervalMilliseconds: Int64
    /// A heartbeat write starts this long before the published value reaches
    /// `heartbeatMilliseconds` of age, leaving room for the write itself and for the latest
    /// sample being up to one poll interval old.
    public var heartbeatLeadMilliseconds: Int64
    /// First retry delay after a failure; doubles per consecutive failure (with jitter)...
    public var backoffBaseMilliseconds: Int64
    /// ...up to this.
    public var backoffMaxMilliseconds: Int64
    /// A `Retry-After` longer than this is shortened to it.
    public var retryAfterMaxMilliseconds: Int64

    /// Creates a policy; the defaults are the project's contract (15 s heartbeat, 1 W or 5 %).
    public init(
        heartbeatMilliseconds: Int64 = 15_000,
        deadbandWatts: Double = 1.0,
        relativeDeadband: Double = 0.05,
        minimumIntervalMilliseconds: Int64 = 1000,
        heartbeatLeadMilliseconds: Int64 = 1000,
        backoffBaseMilliseconds: Int64 = RetryPolicy.standard.backoffBaseMilliseconds,
        backoffMaxMilliseconds: Int64 = RetryPolicy.standard.backoffMaxMilliseconds,
        retryAfterMaxMilliseconds: Int64 = RetryPolicy.standard.retryAfterMaxMilliseconds
    ) {
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.deadbandWatts = deadbandWatts
        self.relativeDeadband = relativeDeadband
        self.minimumIntervalMilliseconds = minimumIntervalMilliseconds
        self.heartbeatLeadMilliseconds = heartbeatLeadMilliseconds
        self.backoffBaseMilliseconds = backoffBaseMilliseconds
        self.backoffMaxMilliseconds = backoffMaxMilliseconds
        self.retryAfterMaxMilliseconds = retryAfterMaxMilliseconds
    }

    /// Whether moving from `published` to `candidate` watts must be published at once.
    public func exceedsDeadband(published: Double, candidate: Double) -> Bool {
        let change = abs(candidate - published)
        return change > deadbandWatts || change > relativeDeadband * abs(published)
    }

    /// The backoff and `Retry-After` caps of this policy, as the shared retry policy.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(
            backoffBaseMilliseconds: backoffBaseMilliseconds, backoffMaxMilliseconds: backoffMaxMilliseconds,
            retryAfterMaxMilliseconds: retryAfterMaxMilliseconds)
    }

    /// The delay before retry number `failures` (1-based), as `RetryPolicy` computes it.
    /// `jitter` is in 0..<1.
    public func backoffMilliseconds(failures: Int, jitter: Double) -> Int64 {
        retryPolicy.backoffMilliseconds(failures: failures, jitter: jitter)
    }
}

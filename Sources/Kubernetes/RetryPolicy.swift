import EnergyModel

/// How long a client waits before repeating a request the API server did not take: the
/// project's one set of caps, used by the annotation publisher and the workflow runner alike.
/// `429` waits for `Retry-After` (at most `retryAfterMaxMilliseconds`: the server's figure
/// is a request, and a value of 10^16 s must not park a client for good); `5xx` and
/// transport failures back off exponentially from `backoffBaseMilliseconds` to
/// `backoffMaxMilliseconds` with jitter; anything else (401, 403, 404, 422, a credential
/// plugin that failed) is not retried, because the same request will fail again.
public struct RetryPolicy: Sendable, Equatable {
    /// First retry delay after a failure; doubles per consecutive failure (with jitter)...
    public var backoffBaseMilliseconds: Int64
    /// ...up to this.
    public var backoffMaxMilliseconds: Int64
    /// A `Retry-After` longer than this is shortened to it.
    public var retryAfterMaxMilliseconds: Int64

    /// The project's caps: 1 s doubling to 30 s, `Retry-After` up to 5 minutes.
    public static let standard = RetryPolicy()

    /// Creates a policy.
    public init(
        backoffBaseMilliseconds: Int64 = 1000, backoffMaxMilliseconds: Int64 = 30_000,
        retryAfterMaxMilliseconds: Int64 = 300_000
    ) {
        self.backoffBaseMilliseconds = backoffBaseMilliseconds
        self.backoffMaxMilliseconds = backoffMaxMilliseconds
        self.retryAfterMaxMilliseconds = retryAfterMaxMilliseconds
    }

    /// The delay before retry number `failures` (1-based): exponential with "equal jitter",
    /// i.e. half the step fixed and half random, so clients do not retry in lockstep.
    /// `jitter` is in 0..<1.
    public func backoffMilliseconds(failures: Int, jitter: Double) -> Int64 {
        let exponent = min(max(failures - 1, 0), 30)
        let step = min(backoffMaxMilliseconds, backoffBaseMilliseconds << Int64(exponent))
        let half = step / 2
        return half + Int64(clampingRounding: Double(step - half) * min(max(jitter, 0), 1), .towardZero)
    }

    /// A `Retry-After` of `seconds` as milliseconds, within the cap (never negative).
    public func retryAfterMilliseconds(_ seconds: Double) -> Int64 {
        min(max(0, Int64(clampingRounding: seconds * 1000, .up)), retryAfterMaxMilliseconds)
    }

    /// How long to wait before repeating a request that ended in `failure` (the
    /// `failures`-th in a row), or nil when repeating it cannot help.
    public func delayMilliseconds(after failure: PatchOutcome, failures: Int, jitter: Double) -> Int64? {
        switch failure {
        case .ok, .unauthorized, .rejected, .credentials:
            return nil
        case .throttled(_, let seconds?):
            return retryAfterMilliseconds(seconds)
        case .throttled(_, nil), .unavailable, .transport:
            return backoffMilliseconds(failures: failures, jitter: jitter)
        }
    }
}

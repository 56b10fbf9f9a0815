/// Why a poll produced no sample; the values are the `reason` label of
/// `energy_monitor_poll_errors_total`.
public enum PollErrorReason: String, Sendable, CaseIterable {
    /// No answer within the timeout.
    case timeout
    /// No connection (refused, unreachable, reset).
    case connect
    /// An HTTP status other than 2xx and 401.
    case http
    /// HTTP 401: missing or wrong credentials; a challenge the plug's configuration refuses
    /// (Digest MD5); a device whose generation changed after its credentials were pinned.
    case auth
    /// HTTP 429: the device throttles authentication; the plug is left alone for the window.
    case throttled
    /// The body is not a Shelly payload.
    case parse
    /// A well-formed payload without a believable measurement.
    case invalid
}

/// A failed poll: the reason and one readable line. Never contains a secret.
public struct PollFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The metric reason.
    public var reason: PollErrorReason
    /// One line for the log.
    public var message: String

    /// Creates a failure.
    public init(_ reason: PollErrorReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// `reason: message`
    public var description: String { "\(reason.rawValue): \(message)" }
}

/// Why a poll produced no sample; the values are the `reason` label of
/// `energy_monitor_poll_errors_total`, which has a series for every case.
public enum PollErrorReason: String, Sendable, CaseIterable {
    /// No answer within the timeout.
    case timeout
    /// No connection (refused, unreachable, reset).
    case connect
    /// An HTTP status other than 2xx and 401.
    case http
    /// HTTP 401: missing or wrong credentials; a challenge the plug's configuration refuses
    /// (Digest MD5); a device of another API family or identity than its credentials are
    /// pinned to (see `PlugPin`).
    case auth
    /// HTTP 429: the device throttles authentication; the plug is left alone for the window.
    case throttled
    /// The body is not a Shelly payload.
    case parse
    /// A well-formed payload without a believable measurement.
    case invalid
}

import EnergyModel

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

import EnergyModel

/// The outcome of reading a meter out of a well-formed status payload.
public enum ParsedReading: Sendable, Equatable {
    /// The device measured this.
    case reading(Reading)
    /// The payload is well-formed but carries no measurement (an unmetered switch, a meter
    /// that reports `is_valid: false`, a missing channel). Never to be stored as 0 W.
    case noReading(String)
}

/// A payload that is not what a Shelly device sends: not JSON, wrong types, an RPC error; or
/// one that is shaped like a status but cannot carry a believable measurement (cut off, a
/// non-finite number, far too large).
public struct ShellyPayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, in one line.
    public var message: String
    /// How the poll is counted: `parse` for a body that is not a Shelly payload, `invalid` for
    /// a status body whose measurement cannot be believed.
    public var reason: PollErrorReason

    /// Creates an error; `reason` defaults to `parse`.
    public init(_ message: String, reason: PollErrorReason = .parse) {
        // Messages quote what devices send (RPC error texts, odd values): one short log line.
        self.message = message.foldedToOneLine(limit: 240)
        self.reason = reason
    }

    /// The message.
    public var description: String { message }
}

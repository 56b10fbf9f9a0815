import EnergyModel

/// The outcome of reading a meter out of a well-formed status payload.
public enum ParsedReading: Sendable, Equatable {
    /// The device measured this.
    case reading(Reading)
    /// The payload is well-formed but carries no measurement (an unmetered switch, a meter
    /// that reports `is_valid: false`, a missing channel). Never to be stored as 0 W.
    case noReading(String)
}

/// A payload that is not what a Shelly device sends: not JSON, wrong types, an RPC error.
public struct ShellyPayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, in one line.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

import EnergyModel

/// Why a run stopped, in one line for the command line.
public struct WorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line.
    public let description: String

    /// Creates an error.
    public init(_ description: String) {
        self.description = description.foldedToOneLine(limit: 1000)
    }
}

/// The energy recorded for the gaps inside a window (see `GapFill`): how much, over how long,
/// and from which of the devices' figures.
public struct BackfilledEnergy: Sendable, Equatable {
    /// Joules recorded for gaps in the window.
    public var joules: Double
    /// Milliseconds of the window those joules cover.
    public var coveredMilliseconds: Int64
    /// The joules by where they came from.
    public var joulesBySource: [BackfillSource: Double]

    /// Nothing recorded.
    public init(joules: Double = 0, coveredMilliseconds: Int64 = 0, joulesBySource: [BackfillSource: Double] = [:]) {
        self.joules = joules
        self.coveredMilliseconds = coveredMilliseconds
        self.joulesBySource = joulesBySource
    }

    /// Adds one part's share of the window.
    public mutating func add(joules: Double, milliseconds: Int64, source: BackfillSource) {
        self.joules += joules
        coveredMilliseconds += milliseconds
        joulesBySource[source, default: 0] += joules
    }
}

/// Energy recorded for part of a gap, within one minute: `[start, end)` with its joules and
/// where they came from. The store keeps one row per part; the `power_minute` view shows them
/// beside the measured minutes, marked as backfilled.
public struct BackfillPart: Sendable, Equatable {
    /// Start, unix milliseconds.
    public var startMilliseconds: Int64
    /// End (exclusive), unix milliseconds, in the same minute as the start.
    public var endMilliseconds: Int64
    /// Energy, joules.
    public var joules: Double
    /// Where the energy came from.
    public var source: BackfillSource

    /// Creates a part.
    public init(startMilliseconds: Int64, endMilliseconds: Int64, joules: Double, source: BackfillSource) {
        self.startMilliseconds = startMilliseconds
        self.endMilliseconds = endMilliseconds
        self.joules = joules
        self.source = source
    }

    /// Its length, milliseconds.
    public var milliseconds: Int64 { endMilliseconds - startMilliseconds }
}

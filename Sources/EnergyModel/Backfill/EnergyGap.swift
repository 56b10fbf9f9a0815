/// A stretch between two samples of a node longer than the bridging limit, and what was made
/// of it: the energy recorded for it (its parts), and its seconds by outcome.
public struct EnergyGap: Sendable, Equatable {
    /// The last sample before it, unix milliseconds.
    public var fromMilliseconds: Int64
    /// The first sample after it, unix milliseconds.
    public var toMilliseconds: Int64
    /// The outcome of its larger part (`backfilled` when any energy was recorded for it).
    public var outcome: GapOutcome
    /// Why, in one line for the log.
    public var reason: String
    /// The energy recorded for it, one part per minute (none unless backfilled).
    public var parts: [BackfillPart]
    /// Its seconds by outcome: what `energy_monitor_gap_seconds_total` adds. Empty while the
    /// device's history is still to be read.
    public var seconds: [GapOutcome: Double]
    /// The device keeps a history that will be read for it; its energy and seconds follow
    /// once the history has been read (`seconds` and `parts` are empty until then).
    public var awaitsHistory: Bool
    /// The device's per-minute figures cover the gap up to its last minute, which was still
    /// running when the gap ended: the gap waits until a later status has that minute's
    /// figure too (`seconds` and `parts` are empty until then). `figures` holds what the
    /// status at the gap's end said.
    public var awaitsMinutes: Bool = false
    /// The per-minute figures read with the first sample after the gap (while `awaitsMinutes`).
    public var figures: DeviceMinutes?
    /// What the device's counter alone made of it (kept while the history is read): the
    /// outcome, and the counter's joules when it could bridge the gap.
    public var counterOutcome: GapOutcome
    /// The joules the counter measured over it, when it could bridge the gap.
    public var counterJoules: Double?

    /// Creates a gap record.
    public init(
        fromMilliseconds: Int64, toMilliseconds: Int64, outcome: GapOutcome, reason: String, parts: [BackfillPart] = [],
        seconds: [GapOutcome: Double] = [:], awaitsHistory: Bool = false, counterJoules: Double? = nil
    ) {
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.outcome = outcome
        self.reason = reason
        self.parts = parts
        self.seconds = seconds
        self.awaitsHistory = awaitsHistory
        self.counterOutcome = outcome
        self.counterJoules = counterJoules
    }

    /// Its length, milliseconds.
    public var milliseconds: Int64 { toMilliseconds - fromMilliseconds }

    /// The joules recorded for it.
    public var backfilledJoules: Double { parts.reduce(0) { $0 + $1.joules } }

    /// The joules recorded for it by source.
    public var joulesBySource: [BackfillSource: Double] {
        var sums: [BackfillSource: Double] = [:]
        for part in parts { sums[part.source, default: 0] += part.joules }
        return sums
    }

    /// The record once its energy is placed: `parts`, their seconds as backfilled and the rest
    /// as `rest` (the counter's outcome when the counter could not bridge it).
    public func placed(_ parts: [BackfillPart], rest: GapOutcome, reason: String) -> EnergyGap {
        var gap = self
        gap.parts = parts
        gap.awaitsHistory = false
        gap.awaitsMinutes = false
        gap.figures = nil
        let covered = Double(parts.reduce(Int64(0)) { $0 + $1.milliseconds }) / 1000
        let total = Double(milliseconds) / 1000
        var seconds: [GapOutcome: Double] = [:]
        if covered > 0 { seconds[.backfilled] = min(covered, total) }
        if total - covered > 0.0005 { seconds[rest, default: 0] += total - covered }
        gap.seconds = seconds
        gap.outcome = covered > 0 ? .backfilled : rest
        gap.reason = reason
        return gap
    }
}

import EnergyModel

/// One row of the `backfill` table (the energy recorded for part of a gap, within one minute),
/// read with its types and ranges checked: a row edited by hand is skipped and reported, never
/// a trap or a figure that cannot be written as JSON.
struct BackfillRow {
    var part: BackfillPart

    /// The columns `init(_:)` reads, in its order.
    static let columns = "start_ms, end_ms, joules, source"

    /// The row on the current row of a statement selecting `columns`.
    init(_ row: Statement) throws(StoredRowDefect) {
        guard let start = row.storedInt(0), let end = row.storedInt(1), StoredSample.times.contains(start),
            StoredSample.times.contains(end), end > start, end - start <= 60_000,
            EnergyStore.floorDiv(start, 60_000) == EnergyStore.floorDiv(end - 1, 60_000)
        else {
            throw StoredRowDefect("start_ms and end_ms are not a part of one minute")
        }
        guard let joules = row.storedDouble(2), joules >= 0,
            joules <= MinuteRow.watts.upperBound * Double(end - start) / 1000
        else {
            throw StoredRowDefect("joules not finite, negative or beyond 1 MW for the part")
        }
        guard let source = BackfillSource(rawValue: row.text(3)) else {
            throw StoredRowDefect("source is not counter, minutes or history")
        }
        part = BackfillPart(startMilliseconds: start, endMilliseconds: end, joules: joules, source: source)
    }
}

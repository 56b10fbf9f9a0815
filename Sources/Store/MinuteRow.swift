/// One row of the `minute` table (the aggregates kept after raw samples expire), read with
/// its types and ranges checked: a row edited by hand, or written by a broken build, is
/// skipped and reported instead of reaching arithmetic that would trap or an answer that
/// cannot be written as JSON.
struct MinuteRow {
    /// Unix minute.
    var minute: Int64
    var samples: Int
    var averageWatts: Double
    var minWatts: Double
    var maxWatts: Double
    var joules: Double
    var coveredMilliseconds: Int64

    /// The columns `init(_:)` reads, in its order.
    static let columns = "minute, samples, avg_watts, min_watts, max_watts, joules, covered_ms"

    /// The unix minutes of `StoredSample.times`.
    static let minutes =
        EnergyStore.floorDiv(
            StoredSample.times.lowerBound, 60_000)...EnergyStore.floorDiv(StoredSample.times.upperBound, 60_000)
    /// Samples of one node in one minute: at most one a millisecond.
    static let samplesPerMinute: ClosedRange<Int64> = 0...60_000
    /// Watts any aggregate can hold (as `StoredSample.milliwattRange`).
    static let watts: ClosedRange<Double> = -1_000_000...1_000_000

    /// The row on the current row of a statement selecting `columns`.
    init(_ row: Statement) throws(StoredRowDefect) {
        guard let minute = row.storedInt(0), Self.minutes.contains(minute) else {
            throw StoredRowDefect("minute out of range")
        }
        guard let samples = row.storedInt(1), Self.samplesPerMinute.contains(samples) else {
            throw StoredRowDefect("samples not in \(Self.samplesPerMinute)")
        }
        guard let average = row.storedDouble(2), let low = row.storedDouble(3), let high = row.storedDouble(4),
            Self.watts.contains(average), Self.watts.contains(low), Self.watts.contains(high)
        else { throw StoredRowDefect("watts not finite or beyond 1 MW") }
        guard let joules = row.storedDouble(5), abs(joules) <= Self.watts.upperBound * 60 else {
            throw StoredRowDefect("joules not finite or beyond 1 MW for a minute")
        }
        guard let covered = row.storedInt(6), (0...60_000).contains(covered) else {
            throw StoredRowDefect("covered_ms not in 0...60000")
        }
        self.minute = minute
        self.samples = Int(samples)
        self.averageWatts = average
        self.minWatts = low
        self.maxWatts = high
        self.joules = joules
        self.coveredMilliseconds = covered
    }

    /// Start of the minute, unix milliseconds (cannot overflow: `minutes` bounds it).
    var startMilliseconds: Int64 { minute * 60_000 }
}

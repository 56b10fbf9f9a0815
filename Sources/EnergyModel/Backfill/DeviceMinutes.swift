/// Energy figures a device keeps per interval (usually a minute): the per-minute figures of
/// its status, or the records of its stored history.
public struct DeviceMinutes: Sendable, Equatable {
    /// One interval's energy.
    public struct Interval: Sendable, Equatable {
        /// Start, unix milliseconds.
        public var startMilliseconds: Int64
        /// End (exclusive), unix milliseconds.
        public var endMilliseconds: Int64
        /// Energy the device counted in it, joules.
        public var joules: Double

        /// Creates an interval.
        public init(startMilliseconds: Int64, endMilliseconds: Int64, joules: Double) {
            self.startMilliseconds = startMilliseconds
            self.endMilliseconds = endMilliseconds
            self.joules = joules
        }
    }

    /// `minutes` (the status' last whole minutes) or `history` (stored records).
    public var source: BackfillSource
    /// The intervals, oldest first, none overlapping another.
    public var intervals: [Interval]

    /// Times an interval may have: from 1970 to far beyond any device's clock (2^52 ms), at
    /// most a day long.
    static let times: Range<Int64> = 0..<(1 << 52)

    /// Creates figures; the intervals are sorted, and overlapping ones, ones outside `times`
    /// and ones longer than a day dropped.
    public init(source: BackfillSource, intervals: [Interval]) {
        self.source = source
        var sorted = intervals.filter {
            Self.times.contains($0.startMilliseconds) && Self.times.contains($0.endMilliseconds)
                && $0.endMilliseconds > $0.startMilliseconds && $0.endMilliseconds - $0.startMilliseconds <= 86_400_000
        }
        .sorted { $0.startMilliseconds < $1.startMilliseconds }
        var index = 1
        while index < sorted.count {
            if sorted[index].startMilliseconds < sorted[index - 1].endMilliseconds {
                sorted.remove(at: index)
            } else {
                index += 1
            }
        }
        self.intervals = sorted
    }

    /// The intervals a meter of `maximumWatts` can have counted: finite, non-negative, at most
    /// its maximum power over the interval (plus the counters' slack), and ending at most
    /// `slackMilliseconds` after `nowMilliseconds` (a device's clock may run a little ahead,
    /// never a minute). Nil when none is left.
    public func believable(maximumWatts: Double, nowMilliseconds: Int64, slackMilliseconds: Int64 = 5_000)
        -> DeviceMinutes?
    {
        let kept = intervals.filter { interval in
            interval.joules.isFinite && interval.joules >= 0
                && interval.joules
                    <= EnergyCounters.allowanceWattHours(
                        maximumWatts: maximumWatts, milliseconds: interval.endMilliseconds - interval.startMilliseconds)
                    * 3600
                && interval.endMilliseconds <= nowMilliseconds.addingReportingOverflow(slackMilliseconds).partialValue
        }
        return kept.isEmpty ? nil : DeviceMinutes(source: source, intervals: kept)
    }

    /// The sum of two meters' figures, interval by interval, where both have the same intervals
    /// (the meters of one node); nil otherwise.
    public static func + (a: DeviceMinutes, b: DeviceMinutes) -> DeviceMinutes? {
        guard a.source == b.source, a.intervals.count == b.intervals.count else { return nil }
        var sum: [Interval] = []
        for (x, y) in zip(a.intervals, b.intervals) {
            guard x.startMilliseconds == y.startMilliseconds, x.endMilliseconds == y.endMilliseconds else { return nil }
            sum.append(Interval(startMilliseconds: x.startMilliseconds, endMilliseconds: x.endMilliseconds, joules: x.joules + y.joules))
        }
        return DeviceMinutes(source: a.source, intervals: sum)
    }
}

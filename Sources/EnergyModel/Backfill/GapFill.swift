/// Places a gap's energy in time: the device's own figure for every interval it covers whole
/// (so windows that start or end inside the gap are exact to the device's minute), and what
/// the counter measured beyond them spread evenly over the rest of the gap. One part per
/// minute (the store's rows of the `power_minute` view).
///
/// Where the figures cover the whole gap and agree with the counter (within its rounding), they
/// stand alone: they are the finer measure.
///
/// An interval that a gap edge cuts (the minute the last sample before the gap or the first
/// after it falls in) counts too when the samples on the other side of the edge cover the rest
/// of that minute: the gap's share is the device's figure less what the samples measured.
public enum GapFill {
    /// Energy the samples measured in one minute at a gap's edge, outside the gap.
    public struct MeasuredMinute: Sendable, Equatable {
        /// The minute's start, unix milliseconds.
        public var minuteStartMilliseconds: Int64
        /// Joules measured in the minute.
        public var joules: Double
        /// Milliseconds of the minute the samples cover.
        public var coveredMilliseconds: Int64

        /// Creates a measured minute.
        public init(minuteStartMilliseconds: Int64, joules: Double, coveredMilliseconds: Int64) {
            self.minuteStartMilliseconds = minuteStartMilliseconds
            self.joules = joules
            self.coveredMilliseconds = coveredMilliseconds
        }
    }

    /// How far the device's figures may fall short of, or exceed, the counter before they are
    /// taken for the counter's and the figures' rounding (beyond it the figures are not used):
    /// a Gen1 counter counts whole watt-minutes.
    public static func slackJoules(counter: Double) -> Double { 120 + 0.02 * counter }

    /// The parts of the gap `[from, to)`: the device's figures where they cover it whole (or,
    /// at an edge, with the samples' measure of the rest of the minute), and `counterJoules`
    /// (when the counter bridged the gap) less those, spread evenly over the rest. Without a
    /// counter only the figures' intervals get energy; the rest stays a gap.
    /// - Parameters:
    ///   - before: what the samples measured in the minute of `from`, before it.
    ///   - after: what the samples measured in the minute of `to`, after it.
    ///   - toleranceMilliseconds: how much of the rest of an edge minute the samples may miss.
    public static func parts(
        from: Int64, to: Int64, counterJoules: Double?, figures: DeviceMinutes?, before: MeasuredMinute? = nil,
        after: MeasuredMinute? = nil, toleranceMilliseconds: Int64 = 1_500
    ) -> [BackfillPart] {
        guard to > from else { return [] }
        var exact: [(start: Int64, end: Int64, joules: Double)] = []
        for interval in figures?.intervals ?? [] {
            let start = max(interval.startMilliseconds, from)
            let end = min(interval.endMilliseconds, to)
            guard end > start else { continue }
            var joules = interval.joules
            var whole = true
            if interval.startMilliseconds < from {
                if let before, before.minuteStartMilliseconds == interval.startMilliseconds,
                    interval.endMilliseconds == interval.startMilliseconds + 60_000,
                    before.coveredMilliseconds >= from - interval.startMilliseconds - toleranceMilliseconds
                {
                    joules -= before.joules
                } else {
                    whole = false
                }
            }
            if interval.endMilliseconds > to {
                if let after, after.minuteStartMilliseconds == interval.startMilliseconds,
                    interval.endMilliseconds == interval.startMilliseconds + 60_000,
                    after.coveredMilliseconds >= interval.endMilliseconds - to - toleranceMilliseconds
                {
                    joules -= after.joules
                } else {
                    whole = false
                }
            }
            if whole { exact.append((start, end, max(0, joules))) }
        }
        let source = figures?.source ?? .minutes
        guard let counterJoules, counterJoules.isFinite, counterJoules >= 0 else {
            return exact.flatMap { split(start: $0.start, end: $0.end, joules: $0.joules, source: source) }
        }
        var exactSum = exact.reduce(0) { $0 + $1.joules }
        var rest = counterJoules - exactSum
        let coveredLength = exact.reduce(Int64(0)) { $0 + ($1.end - $1.start) }
        if coveredLength == to - from, abs(rest) <= slackJoules(counter: counterJoules) {
            // The device's figures cover the whole gap and agree with its counter: they are the
            // finer measure (a Gen1 counter counts whole watt-minutes), so they stand as they are.
            return exact.flatMap { split(start: $0.start, end: $0.end, joules: $0.joules, source: source) }
        }
        if rest < -slackJoules(counter: counterJoules) {
            // The figures contradict the counter: the counter alone, evenly.
            exact = []
            exactSum = 0
            rest = counterJoules
        } else if rest < 0 {
            // Rounding: the figures add up to a little more than the counter.
            exact = exact.map { ($0.start, $0.end, exactSum > 0 ? $0.joules * counterJoules / exactSum : 0) }
            rest = 0
        }
        var uncovered: [(start: Int64, end: Int64)] = []
        var cursor = from
        for span in exact {
            if span.start > cursor { uncovered.append((cursor, span.start)) }
            cursor = max(cursor, span.end)
        }
        if to > cursor { uncovered.append((cursor, to)) }
        let uncoveredLength = uncovered.reduce(Int64(0)) { $0 + ($1.end - $1.start) }
        if uncoveredLength == 0, rest > 0, exactSum > 0 {
            exact = exact.map { ($0.start, $0.end, $0.joules * counterJoules / exactSum) }
        }
        var parts: [BackfillPart] = []
        for span in exact { parts += split(start: span.start, end: span.end, joules: span.joules, source: source) }
        if uncoveredLength > 0 {
            for span in uncovered {
                let joules = rest * Double(span.end - span.start) / Double(uncoveredLength)
                parts += split(start: span.start, end: span.end, joules: joules, source: .counter)
            }
        }
        return parts.sorted { $0.startMilliseconds < $1.startMilliseconds }
    }

    /// `joules` over `[start, end)`, evenly, one part per minute.
    static func split(start: Int64, end: Int64, joules: Double, source: BackfillSource) -> [BackfillPart] {
        guard end > start else { return [] }
        var parts: [BackfillPart] = []
        var cursor = start
        while cursor < end {
            let boundary = minuteStart(cursor) + 60_000
            let stop = min(boundary, end)
            parts.append(
                BackfillPart(
                    startMilliseconds: cursor, endMilliseconds: stop,
                    joules: joules * Double(stop - cursor) / Double(end - start), source: source))
            cursor = stop
        }
        return parts
    }

    /// The start of the minute holding `time` (unix milliseconds), for every `time`.
    public static func minuteStart(_ time: Int64) -> Int64 {
        let quotient = time / 60_000
        let floored = time % 60_000 < 0 ? quotient - 1 : quotient
        return floored.multipliedReportingOverflow(by: 60_000).partialValue
    }
}

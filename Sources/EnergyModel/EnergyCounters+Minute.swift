extension EnergyCounters {
    /// What the samples measured in the minute of the last sample, if there is one.
    public var measuredMinute: GapFill.MeasuredMinute? {
        minuteStartMilliseconds.map {
            GapFill.MeasuredMinute(
                minuteStartMilliseconds: $0, joules: minuteJoules, coveredMilliseconds: minuteCoveredMilliseconds)
        }
    }

    /// Starts counting the minute of `time` afresh (the first sample, or the first after a gap:
    /// nothing before it in its minute is measured).
    mutating func restartMinute(at time: Int64) {
        minuteStartMilliseconds = GapFill.minuteStart(time)
        minuteJoules = 0
        minuteCoveredMilliseconds = 0
    }

    /// Adds `joules`, integrated between two samples (wall-clock times and watts), to the
    /// minutes they fall in: split at each minute boundary by the trapezoids on either side.
    /// Returns the minutes completed, with what was measured in each.
    mutating func accumulate(
        from a: (time: Int64, watts: Double), to b: (time: Int64, watts: Double), joules: Double
    ) -> [GapFill.MeasuredMinute] {
        var closed: [GapFill.MeasuredMinute] = []
        if minuteStartMilliseconds == nil { minuteStartMilliseconds = GapFill.minuteStart(a.time) }
        let span = b.time - a.time
        guard span > 0 else {
            // The wall clock stood still or went back between the samples (the joules were
            // measured on the monotonic clock): they count in the current minute.
            minuteJoules += joules
            return closed
        }
        let whole = (a.watts + b.watts) / 2 * Double(span)
        func watts(_ time: Int64) -> Double { a.watts + (b.watts - a.watts) * Double(time - a.time) / Double(span) }
        var cursor = a.time
        while cursor < b.time {
            let minute = GapFill.minuteStart(cursor)
            let end = min(minute <= Int64.max - 60_000 ? minute + 60_000 : Int64.max, b.time)
            if minute != minuteStartMilliseconds {
                if let measured = measuredMinute { closed.append(measured) }
                minuteStartMilliseconds = minute
                minuteJoules = 0
                minuteCoveredMilliseconds = 0
            }
            let piece = (watts(cursor) + watts(end)) / 2 * Double(end - cursor)
            minuteJoules += whole != 0 ? joules * piece / whole : joules * Double(end - cursor) / Double(span)
            minuteCoveredMilliseconds += end - cursor
            cursor = end
        }
        if GapFill.minuteStart(b.time) != minuteStartMilliseconds {
            // The sample lies exactly on the next minute's start: that minute begins with it.
            if let measured = measuredMinute { closed.append(measured) }
            minuteStartMilliseconds = GapFill.minuteStart(b.time)
            minuteJoules = 0
            minuteCoveredMilliseconds = 0
        }
        return closed
    }
}

/// Energy and power figures of one node over a time window.
public struct WindowEnergy: Sendable, Equatable {
    /// Trapezoidal integral of power over the covered parts of the window, joules.
    public var joules: Double
    /// Milliseconds of the window covered by consecutive samples at most the maximum gap apart.
    public var coveredMilliseconds: Int64
    /// Samples taken inside the window.
    public var samples: Int
    /// Highest power sampled inside the window, watts.
    public var peakWatts: Double?
    /// Lowest power sampled inside the window, watts.
    public var minWatts: Double?
    /// Sum of the sampled powers inside the window (for the mean of samples), watts.
    public var sumWatts: Double

    /// An empty window.
    public init(joules: Double = 0, coveredMilliseconds: Int64 = 0, samples: Int = 0, peakWatts: Double? = nil, minWatts: Double? = nil, sumWatts: Double = 0) {
        self.joules = joules
        self.coveredMilliseconds = coveredMilliseconds
        self.samples = samples
        self.peakWatts = peakWatts
        self.minWatts = minWatts
        self.sumWatts = sumWatts
    }

    /// Mean power over the covered time (joules / covered seconds), or nil when nothing is covered.
    public var averageWatts: Double? {
        coveredMilliseconds > 0 ? joules / (Double(coveredMilliseconds) / 1000) : nil
    }

    /// Adds another window's figures (for consecutive, non-overlapping windows).
    public mutating func merge(_ other: WindowEnergy) {
        joules += other.joules
        coveredMilliseconds += other.coveredMilliseconds
        samples += other.samples
        sumWatts += other.sumWatts
        if let peak = other.peakWatts { peakWatts = max(peakWatts ?? peak, peak) }
        if let low = other.minWatts { minWatts = min(minWatts ?? low, low) }
    }

    /// Integrates `points` (time in unix milliseconds, watts; sorted by time) over
    /// `[from, to)`. Power between two consecutive samples at most `maxGapMilliseconds` apart
    /// is linear between them (the trapezoidal rule); a longer gap is not bridged and leaves
    /// that stretch uncovered. Edges falling between two samples are interpolated, so
    /// adjacent windows add up exactly to their union.
    public static func integrate(
        points: [(timestampMilliseconds: Int64, watts: Double)], from: Int64, to: Int64, maxGapMilliseconds: Int64
    ) -> WindowEnergy {
        var result = WindowEnergy()
        guard to > from else { return result }
        for point in points where point.timestampMilliseconds >= from && point.timestampMilliseconds < to {
            result.samples += 1
            result.sumWatts += point.watts
            result.peakWatts = max(result.peakWatts ?? point.watts, point.watts)
            result.minWatts = min(result.minWatts ?? point.watts, point.watts)
        }
        guard points.count >= 2 else { return result }
        for index in 1..<points.count {
            let a = points[index - 1], b = points[index]
            let gap = b.timestampMilliseconds - a.timestampMilliseconds
            guard gap > 0, gap <= maxGapMilliseconds else { continue }
            let start = max(a.timestampMilliseconds, from), end = min(b.timestampMilliseconds, to)
            guard end > start else { continue }
            let slope = (b.watts - a.watts) / Double(gap)
            let startWatts = a.watts + slope * Double(start - a.timestampMilliseconds)
            let endWatts = a.watts + slope * Double(end - a.timestampMilliseconds)
            result.joules += (startWatts + endWatts) / 2 * Double(end - start) / 1000
            result.coveredMilliseconds += end - start
        }
        return result
    }
}

/// One node's static power, learned from pairs of plug power and node CPU usage over a rolling
/// window (typically one pair per metrics window, 15 s).
///
/// The estimate is the intercept at zero usage of a least-squares fit of power against usage:
/// P = a + b·u + c·u² when that curve is concave (c ≤ 0, as power flattens out at high usage),
/// else the straight line P = a + b·u. The intercept is clamped into [0, lowest observed watts],
/// since the node never drew less than it does at rest. A configured override wins over the
/// fit; until there are `minimumSamples` samples whose usage spans `minimumSpreadCores`, the
/// starting figure stands in (an intercept extrapolated from a narrow band of usage says little).
///
/// Memory: the samples of the window, 24 bytes each, never more than `sampleLimit` of them (the
/// oldest go first), in storage that holds at most about twice the samples kept (forgotten ones
/// are removed in one step once they are half of it). A 24 h window of 15 s metrics windows
/// keeps 5,760 samples, 135 KiB (at most about 270 KiB of storage); the default limit of 20,000
/// bounds a node at about 940 KiB of storage whatever the window and the rate.
/// Adding a sample costs O(1) amortized when samples come in time order; the estimate is
/// computed on demand in O(samples).
public struct StaticPowerFit: Sendable {
    /// One pair of usage and power.
    struct Sample: Sendable, Equatable {
        var timestampMilliseconds: Int64
        var cpuCores: Double
        var watts: Double
    }

    /// Samples older than this, relative to the newest, are forgotten.
    public let windowMilliseconds: Int64
    /// The estimate until the fit has enough samples; nil for none.
    public let startingWatts: Double?
    /// A configured static power that wins over the fit; nil to fit.
    public let overrideWatts: Double?
    /// Samples the fit needs at least.
    public let minimumSamples: Int
    /// Spread of usage (max − min cores) the fit needs at least.
    public let minimumSpreadCores: Double
    /// Samples kept at most.
    public let sampleLimit: Int

    /// The window's samples in time order from `head` on; the ones before `head` are forgotten
    /// and removed in one step once they are half of the storage.
    private var samples: [Sample] = []
    private var head = 0

    /// A fit with no samples yet. Non-finite or negative `startingWatts` and `overrideWatts`
    /// count as nil; a negative window keeps only the newest timestamp's samples.
    public init(
        windowMilliseconds: Int64, startingWatts: Double?, overrideWatts: Double?, minimumSamples: Int = 20,
        minimumSpreadCores: Double = 0.5, sampleLimit: Int = 20_000
    ) {
        self.windowMilliseconds = max(0, windowMilliseconds)
        self.startingWatts = startingWatts.flatMap(PodAttribution.nonNegative)
        self.overrideWatts = overrideWatts.flatMap(PodAttribution.nonNegative)
        self.minimumSamples = max(1, minimumSamples)
        self.minimumSpreadCores = minimumSpreadCores.isFinite ? max(0, minimumSpreadCores) : 0
        self.sampleLimit = max(1, sampleLimit)
    }

    /// Samples in the window now.
    public var sampleCount: Int { samples.count - head }

    /// Adds one pair of node CPU usage (cores) and plug power (watts) at a time, and forgets
    /// samples older than the window relative to the newest. Non-finite or negative values,
    /// and a sample already older than the window, are ignored.
    public mutating func add(timestampMilliseconds: Int64, cpuCores: Double, watts: Double) {
        guard cpuCores.isFinite, cpuCores >= 0, watts.isFinite, watts >= 0 else { return }
        let sample = Sample(timestampMilliseconds: timestampMilliseconds, cpuCores: cpuCores, watts: watts)
        if let newest = samples.last?.timestampMilliseconds, head < samples.count, timestampMilliseconds < newest {
            guard timestampMilliseconds >= Self.cutoff(newest: newest, window: windowMilliseconds) else { return }
            // Out of order but inside the window: after the last sample not later than it.
            var low = head
            var high = samples.count
            while low < high {
                let middle = low + (high - low) / 2
                if samples[middle].timestampMilliseconds <= timestampMilliseconds {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            samples.insert(sample, at: low)
        } else {
            samples.append(sample)
        }
        forget()
    }

    /// Drops what is older than the window or beyond the limit, and compacts the storage once
    /// half of it is forgotten (so each sample is moved O(1) times).
    private mutating func forget() {
        guard let newest = samples.last?.timestampMilliseconds else { return }
        let cutoff = Self.cutoff(newest: newest, window: windowMilliseconds)
        while head < samples.count, samples[head].timestampMilliseconds < cutoff { head += 1 }
        if samples.count - head > sampleLimit { head = samples.count - sampleLimit }
        if head > 0, head * 2 >= samples.count {
            samples.removeFirst(head)
            head = 0
        }
    }

    /// The oldest timestamp kept when the newest is `newest`, saturating at Int64.min.
    private static func cutoff(newest: Int64, window: Int64) -> Int64 {
        let (value, overflow) = newest.subtractingReportingOverflow(window)
        return overflow ? .min : value
    }

    /// The static power now: the override, the fit, the starting figure or nothing, in that
    /// order of preference.
    public var estimate: StaticPowerEstimate {
        let live = samples[head...]
        if let overrideWatts {
            return StaticPowerEstimate(
                staticWatts: overrideWatts, wattsPerCore: nil, samples: live.count, rmsErrorWatts: nil,
                source: .override)
        }
        if live.count >= minimumSamples, let fit = Self.fit(live, minimumSpread: minimumSpreadCores) {
            return StaticPowerEstimate(
                staticWatts: fit.intercept, wattsPerCore: fit.slope, samples: live.count, rmsErrorWatts: fit.rmsError,
                source: .fitted)
        }
        if let startingWatts {
            return StaticPowerEstimate(
                staticWatts: startingWatts, wattsPerCore: nil, samples: live.count, rmsErrorWatts: nil,
                source: .starting)
        }
        return StaticPowerEstimate(
            staticWatts: nil, wattsPerCore: nil, samples: live.count, rmsErrorWatts: nil, source: .none)
    }
}

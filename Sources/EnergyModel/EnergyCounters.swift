/// The running energy figures of one node, carried across samples and, through the store,
/// across restarts.
///
/// `energyJoules` integrates power with the trapezoidal rule between consecutive samples that
/// are at most `maxGapMilliseconds` apart; a longer gap is bridged only by the device's own
/// figures (see `judgeGap`), else not at all. `deviceJoules` follows the plug's own counter as
/// far as it is believable (see `judgeDeviceCounter`): a counter that drops because the device
/// rebooted becomes a new baseline, so the total never goes backwards, and it never grows
/// faster than the meter's maximum power.
public struct EnergyCounters: Sendable, Equatable {
    /// Energy in joules since the node was first seen: integrated from the samples, plus what
    /// the device's figures recorded for the gaps between them.
    public var energyJoules: Double
    /// Energy in joules by the plug's own counter: its first value, then every increase, and
    /// after a device reboot the new count since the reboot.
    public var deviceJoules: Double
    /// Time of the last sample in milliseconds, or nil before the first.
    public var lastTimestampMilliseconds: Int64?
    /// Power of the last sample in watts.
    public var lastWatts: Double?
    /// The device counter last accepted, in watt-hours.
    public var lastDeviceWattHours: Double?
    /// When `lastDeviceWattHours` was first seen (unix milliseconds); counters loaded from the
    /// store start at their last sample's time.
    public var lastDeviceMilliseconds: Int64?
    /// The time of the last sample whose counter was accepted (unix milliseconds): a gap can be
    /// bridged by the counter only when it is the last sample before the gap.
    public var lastDeviceReadingMilliseconds: Int64?
    /// The device's boot time by the last uptime it reported (unix milliseconds).
    public var deviceBootMilliseconds: Int64?
    /// A refused counter value that becomes the baseline if the readings go on from it.
    public var deviceCandidate: DeviceCounterCandidate?
    /// The monotonic time of the last sample (`Sample.monotonicMilliseconds`), in memory only:
    /// the monotonic clock starts again with every boot.
    public var lastMonotonicMilliseconds: Int64?
    /// The minute of the last sample (its start, unix milliseconds), and the joules and
    /// milliseconds the samples measured in it so far: at a gap, what the samples measured in
    /// the gap's first minute before it (see `GapFill`).
    public var minuteStartMilliseconds: Int64?
    /// Joules the samples measured in the minute of the last sample.
    public var minuteJoules: Double
    /// Milliseconds of that minute the samples cover.
    public var minuteCoveredMilliseconds: Int64
    /// Emissions in grams of CO2-equivalent since the node was first seen with a carbon
    /// intensity configured: each increase of `energyJoules` at the intensity in force.
    public var emissionsGrams: Double = 0
    /// Cost since the node was first seen with a price configured, in `costCurrency`.
    public var cost: Double = 0
    /// The currency `cost` counts in; nil before a price was configured.
    public var costCurrency: String?

    /// Creates counters, by default empty.
    public init(
        energyJoules: Double = 0,
        deviceJoules: Double = 0,
        lastTimestampMilliseconds: Int64? = nil,
        lastWatts: Double? = nil,
        lastDeviceWattHours: Double? = nil,
        lastDeviceReadingMilliseconds: Int64? = nil,
        minuteStartMilliseconds: Int64? = nil,
        minuteJoules: Double = 0,
        minuteCoveredMilliseconds: Int64 = 0
    ) {
        self.energyJoules = energyJoules
        self.deviceJoules = deviceJoules
        self.lastTimestampMilliseconds = lastTimestampMilliseconds
        self.lastWatts = lastWatts
        self.lastDeviceWattHours = lastDeviceWattHours
        self.lastDeviceMilliseconds = lastDeviceWattHours == nil ? nil : lastTimestampMilliseconds
        self.lastDeviceReadingMilliseconds = lastDeviceWattHours == nil ? nil : lastDeviceReadingMilliseconds
        self.minuteStartMilliseconds = minuteStartMilliseconds
        self.minuteJoules = minuteJoules
        self.minuteCoveredMilliseconds = minuteCoveredMilliseconds
    }

    /// Adds a sample. Samples not newer than the last one (on the monotonic clock when both
    /// have its time, else on the wall clock) are ignored. The device counter is
    /// judged against a plug's default maximum power and no uptime.
    /// - Returns: the joules added to `energyJoules` (0 across a gap).
    @discardableResult
    public mutating func add(_ sample: Sample, maxGapMilliseconds: Int64) -> Double {
        advance(sample, maxGapMilliseconds: maxGapMilliseconds, device: DeviceCounterContext()).joules
    }

    /// Adds a sample, judging its device counter with what is known of the device. Samples
    /// not newer than the last one are ignored.
    /// - Returns: the joules integrated from the samples (0 across a gap), and how the counter
    ///   was taken.
    public mutating func add(
        _ sample: Sample, maxGapMilliseconds: Int64, device: DeviceCounterContext
    ) -> (joules: Double, counter: DeviceCounterVerdict) {
        let step = advance(sample, maxGapMilliseconds: maxGapMilliseconds, device: device)
        return (step.joules, step.counter)
    }

    /// Adds a sample, judging its device counter with what is known of the device, and, when
    /// it ends a gap longer than `maxGapMilliseconds`, what the device's figures make of the
    /// gap (`judgeGap`): the energy they record for it is added to `energyJoules`. Samples
    /// not newer than the last one are ignored.
    public mutating func advance(
        _ sample: Sample, maxGapMilliseconds: Int64, device: DeviceCounterContext
    ) -> SampleStep {
        var step = SampleStep()
        var gapFrom: (time: Int64, monotonicGap: Int64?)?
        var integrated = false
        let counterBefore = (wattHours: lastDeviceWattHours, readAt: lastDeviceReadingMilliseconds)
        let edgeBefore = measuredMinute
        if let lastTime = lastTimestampMilliseconds {
            // The time between two samples this process took is read off the monotonic clock:
            // a step of the wall clock between them (stamps going back, or a day ahead) must
            // neither stop the counter nor add a day of power. Across a restart only the wall
            // clock links the samples.
            let gap: Int64
            var monotonicGap: Int64?
            if let monotonic = sample.monotonicMilliseconds, let lastMonotonic = lastMonotonicMilliseconds {
                gap = monotonic - lastMonotonic
                monotonicGap = gap
            } else {
                gap = sample.timestampMilliseconds - lastTime
            }
            guard gap > 0 else {
                step.counter = .ignored
                return step
            }
            if gap <= maxGapMilliseconds, let lastWatts {
                let added = (lastWatts + sample.reading.watts) / 2 * Double(gap) / 1000
                energyJoules += added
                step.joules = added
                integrated = true
                step.closedMinutes = accumulate(
                    from: (lastTime, lastWatts), to: (sample.timestampMilliseconds, sample.reading.watts), joules: added
                )
            } else {
                gapFrom = (lastTime, monotonicGap)
            }
        }
        lastTimestampMilliseconds = sample.timestampMilliseconds
        lastMonotonicMilliseconds = sample.monotonicMilliseconds
        lastWatts = sample.reading.watts
        step.counter = judgeDeviceCounter(
            sample.reading.energyWattHours, at: sample.timestampMilliseconds, context: device)
        if step.counter.isAccepted { lastDeviceReadingMilliseconds = sample.timestampMilliseconds }
        if !integrated {
            // The first sample, or the first after a gap: a new minute starts with it.
            if let edgeBefore, gapFrom != nil { step.closedMinutes = [edgeBefore] }
            restartMinute(at: sample.timestampMilliseconds)
        }
        if let gapFrom {
            let gap = judgeGap(
                from: gapFrom.time, to: sample.timestampMilliseconds, monotonicGap: gapFrom.monotonicGap,
                counterBefore: counterBefore, counterAfter: sample.reading.energyWattHours, verdict: step.counter,
                device: device, before: edgeBefore)
            if !gap.awaitsHistory, !gap.awaitsMinutes, gap.outcome == .backfilled {
                energyJoules += gap.backfilledJoules
            }
            step.gap = gap
        }
        return step
    }
}

/// What adding one sample did to a node's counters.
public struct SampleStep: Sendable, Equatable {
    /// Joules integrated from the samples (0 across a gap, and for the first sample).
    public var joules: Double = 0
    /// How the sample's device counter was taken.
    public var counter: DeviceCounterVerdict = .absent
    /// The gap the sample ended, when it ended one longer than the bridging limit.
    public var gap: EnergyGap?
    /// The minutes the sample completed, with what the samples measured in each (at a gap's
    /// end: the minute the gap started in, up to the gap).
    public var closedMinutes: [GapFill.MeasuredMinute] = []

    /// An empty step.
    public init() {}
}

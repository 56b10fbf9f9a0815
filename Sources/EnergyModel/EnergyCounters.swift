/// The running energy figures of one node, carried across samples and, through the store,
/// across restarts.
///
/// `energyJoules` integrates power with the trapezoidal rule between consecutive samples that
/// are at most `maxGapMilliseconds` apart; a longer gap is not bridged. `deviceJoules` follows
/// the plug's own counter as far as it is believable (see `judgeDeviceCounter`): a counter
/// that drops because the device rebooted becomes a new baseline, so the total never goes
/// backwards, and it never grows faster than the meter's maximum power.
public struct EnergyCounters: Sendable, Equatable {
    /// Integrated energy in joules since the node was first seen.
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
    /// The device's boot time by the last uptime it reported (unix milliseconds).
    public var deviceBootMilliseconds: Int64?
    /// A refused counter value that becomes the baseline if the readings go on from it.
    public var deviceCandidate: DeviceCounterCandidate?
    /// The monotonic time of the last sample (`Sample.monotonicMilliseconds`), in memory only:
    /// the monotonic clock starts again with every boot.
    public var lastMonotonicMilliseconds: Int64?

    /// Creates counters, by default empty.
    public init(
        energyJoules: Double = 0,
        deviceJoules: Double = 0,
        lastTimestampMilliseconds: Int64? = nil,
        lastWatts: Double? = nil,
        lastDeviceWattHours: Double? = nil
    ) {
        self.energyJoules = energyJoules
        self.deviceJoules = deviceJoules
        self.lastTimestampMilliseconds = lastTimestampMilliseconds
        self.lastWatts = lastWatts
        self.lastDeviceWattHours = lastDeviceWattHours
        self.lastDeviceMilliseconds = lastDeviceWattHours == nil ? nil : lastTimestampMilliseconds
    }

    /// Adds a sample. Samples not newer than the last one (on the monotonic clock when both
    /// have its time, else on the wall clock) are ignored. The device counter is
    /// judged against a plug's default maximum power and no uptime.
    /// - Returns: the joules added to `energyJoules` (0 across a gap).
    @discardableResult
    public mutating func add(_ sample: Sample, maxGapMilliseconds: Int64) -> Double {
        add(sample, maxGapMilliseconds: maxGapMilliseconds, device: DeviceCounterContext()).joules
    }

    /// Adds a sample, judging its device counter with what is known of the device. Samples
    /// not newer than the last one are ignored.
    /// - Returns: the joules added to `energyJoules` (0 across a gap), and how the counter was taken.
    public mutating func add(
        _ sample: Sample, maxGapMilliseconds: Int64, device: DeviceCounterContext
    ) -> (joules: Double, counter: DeviceCounterVerdict) {
        var added = 0.0
        if let lastTime = lastTimestampMilliseconds {
            // The time between two samples this process took is read off the monotonic clock:
            // a step of the wall clock between them (stamps going back, or a day ahead) must
            // neither stop the counter nor add a day of power. Across a restart only the wall
            // clock links the samples.
            let gap: Int64
            if let monotonic = sample.monotonicMilliseconds, let lastMonotonic = lastMonotonicMilliseconds {
                gap = monotonic - lastMonotonic
            } else {
                gap = sample.timestampMilliseconds - lastTime
            }
            guard gap > 0 else { return (0, .ignored) }
            if gap <= maxGapMilliseconds, let lastWatts {
                added = (lastWatts + sample.reading.watts) / 2 * Double(gap) / 1000
                energyJoules += added
            }
        }
        lastTimestampMilliseconds = sample.timestampMilliseconds
        lastMonotonicMilliseconds = sample.monotonicMilliseconds
        lastWatts = sample.reading.watts
        let counter = judgeDeviceCounter(
            sample.reading.energyWattHours, at: sample.timestampMilliseconds, context: device)
        return (added, counter)
    }
}

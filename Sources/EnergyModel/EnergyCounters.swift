/// The running energy figures of one node, carried across samples and, through the store,
/// across restarts.
///
/// `energyJoules` integrates power with the trapezoidal rule between consecutive samples that
/// are at most `maxGapMilliseconds` apart; a longer gap is not bridged. `deviceJoules` follows
/// the plug's own counter: a counter that drops (the device rebooted) becomes a new baseline,
/// so the total never goes backwards.
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
    /// The device counter of the last sample that carried one, in watt-hours.
    public var lastDeviceWattHours: Double?

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
    }

    /// Adds a sample. Samples not newer than the last one are ignored.
    /// - Returns: the joules added to `energyJoules` (0 across a gap).
    @discardableResult
    public mutating func add(_ sample: Sample, maxGapMilliseconds: Int64) -> Double {
        var added = 0.0
        if let lastTime = lastTimestampMilliseconds {
            guard sample.timestampMilliseconds > lastTime else { return 0 }
            let gap = sample.timestampMilliseconds - lastTime
            if gap <= maxGapMilliseconds, let lastWatts {
                added = (lastWatts + sample.reading.watts) / 2 * Double(gap) / 1000
                energyJoules += added
            }
        }
        lastTimestampMilliseconds = sample.timestampMilliseconds
        lastWatts = sample.reading.watts
        if let counter = sample.reading.energyWattHours {
            if let previous = lastDeviceWattHours, counter >= previous {
                deviceJoules += (counter - previous) * 3600
            } else {
                // The first value, or a drop after a device reboot: the device counted `counter`
                // since it (re)started, as Prometheus assumes for a counter reset. The total
                // never goes backwards.
                deviceJoules += counter * 3600
            }
            lastDeviceWattHours = counter
        }
        return added
    }
}

/// One reading of a plug's meter, in SI units as the device reports them.
public struct Reading: Sendable, Equatable {
    /// Active power in watts.
    public var watts: Double
    /// RMS voltage in volts, where the device reports it.
    public var volts: Double?
    /// RMS current in amperes, where the device reports it.
    public var amps: Double?
    /// The device's own cumulative energy counter in watt-hours, where it reports one.
    /// It restarts from zero when the device reboots.
    public var energyWattHours: Double?

    /// Creates a reading.
    public init(watts: Double, volts: Double? = nil, amps: Double? = nil, energyWattHours: Double? = nil) {
        self.watts = watts
        self.volts = volts
        self.amps = amps
        self.energyWattHours = energyWattHours
    }
}

/// A reading of one node's plug at the time it was taken.
public struct Sample: Sendable, Equatable {
    /// The Kubernetes node the plug powers.
    public var node: String
    /// Unix time of the reading in milliseconds.
    public var timestampMilliseconds: Int64
    /// What the plug measured.
    public var reading: Reading
    /// The same moment on the monotonic clock (`MonotonicClock`, milliseconds), when the
    /// sample was taken by this process: the time between two samples is measured on it, so
    /// a step of the wall clock between them neither freezes nor inflates the energy.
    public var monotonicMilliseconds: Int64?

    /// Creates a sample.
    public init(node: String, timestampMilliseconds: Int64, reading: Reading, monotonicMilliseconds: Int64? = nil) {
        self.node = node
        self.timestampMilliseconds = timestampMilliseconds
        self.reading = reading
        self.monotonicMilliseconds = monotonicMilliseconds
    }

    /// Unix time of the reading in seconds.
    public var timestampSeconds: Double { Double(timestampMilliseconds) / 1000 }
}

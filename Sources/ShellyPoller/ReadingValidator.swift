import EnergyModel

/// Decides whether a parsed reading is believable for a plug that powers a node. Readings
/// that fail are counted as `invalid` and never stored.
public struct ReadingValidator: Sendable {
    /// Power above this is beyond what any plug or meter here can carry.
    public var maximumWatts: Double
    /// Negative power down to `-negativeNoiseWatts` is meter noise around 0 W and reads as 0;
    /// anything lower means the plug sees power flowing back, which a node never feeds.
    public var negativeNoiseWatts: Double

    /// Creates a validator. The defaults fit plugs and single-phase meters (16 A at 250 V is
    /// 4 kW) with a wide margin for three-phase meters.
    public init(maximumWatts: Double = 50_000, negativeNoiseWatts: Double = 1.0) {
        self.maximumWatts = maximumWatts
        self.negativeNoiseWatts = negativeNoiseWatts
    }

    /// The reading to store, or the reason it is refused.
    public func validate(_ reading: Reading) -> Result<Reading, PollFailure> {
        var reading = reading
        guard reading.watts.isFinite else {
            return .failure(PollFailure(.invalid, "power is not a finite number"))
        }
        if reading.watts < 0 {
            guard reading.watts >= -negativeNoiseWatts else {
                return .failure(PollFailure(.invalid, "negative power \(reading.watts) W"))
            }
            reading.watts = 0
        }
        guard reading.watts <= maximumWatts else {
            return .failure(PollFailure(.invalid, "power \(reading.watts) W above \(maximumWatts) W"))
        }
        if let volts = reading.volts, !volts.isFinite || volts < 0 || volts > 1000 { reading.volts = nil }
        if let amps = reading.amps, !amps.isFinite || amps < 0 || amps > 1000 { reading.amps = nil }
        if let energy = reading.energyWattHours, !energy.isFinite || energy < 0 { reading.energyWattHours = nil }
        return .success(reading)
    }
}

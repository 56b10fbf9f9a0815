import EnergyModel

/// What a metering component can carry, which bounds the power it can believably report.
/// Ratings are the largest current of the family at 250 V; a reading up to twice that is
/// accepted (inrush peaks and meter spread are real), anything beyond is not a measurement.
public enum MeterRating: Sendable, Equatable, CaseIterable {
    /// A plug or a relay with metering (Gen2+ `switch`/`pm1`, Gen1 `meters`): 16 A on one
    /// phase, 4 kW; readings up to 8 kW are accepted.
    case plug
    /// A single-phase meter with a current clamp (Gen2+ `em1`, one Gen1 `emeters` phase):
    /// 120 A, 30 kW; readings up to 60 kW.
    case singlePhaseMeter
    /// A three-phase meter's total (Gen2+ `em`): 3 x 120 A, 90 kW; readings up to 180 kW.
    case threePhaseMeter

    /// The rated current times 250 V, in watts.
    public var ratedWatts: Double {
        switch self {
        case .plug: 16 * 250
        case .singlePhaseMeter: 120 * 250
        case .threePhaseMeter: 3 * 120 * 250
        }
    }

    /// The largest power accepted from such a device.
    public var maximumWatts: Double { 2 * ratedWatts }

    /// The rating of a Gen2+ metering component.
    public init(_ kind: MeterComponent.Kind) {
        switch kind {
        case .switch, .pm1: self = .plug
        case .em1: self = .singlePhaseMeter
        case .em: self = .threePhaseMeter
        }
    }
}

/// Decides whether a parsed reading is believable for a plug that powers a node. Readings
/// that fail are counted as `invalid` and never stored.
public struct ReadingValidator: Sendable {
    /// Negative power down to `-negativeNoiseWatts` is meter noise around 0 W and reads as 0;
    /// anything lower means the plug sees power flowing back, which a node never feeds.
    public var negativeNoiseWatts: Double

    /// Creates a validator. The largest believable power depends on the device (see
    /// `MeterRating`).
    public init(negativeNoiseWatts: Double = 1.0) {
        self.negativeNoiseWatts = negativeNoiseWatts
    }

    /// The reading to store, or the reason it is refused, for a device of `rating`.
    public func validate(_ reading: Reading, rating: MeterRating = .plug) -> Result<Reading, PollFailure> {
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
        guard reading.watts <= rating.maximumWatts else {
            return .failure(
                PollFailure(.invalid, "power \(reading.watts) W above the \(rating.maximumWatts) W such a device can carry")
            )
        }
        if let volts = reading.volts, !volts.isFinite || volts < 0 || volts > 1000 { reading.volts = nil }
        if let amps = reading.amps, !amps.isFinite || amps < 0 || amps > 1000 { reading.amps = nil }
        // The device's energy counter is judged by the ledger, which knows its last value
        // and the time since (`EnergyCounters.judgeDeviceCounter`): refused there, counted and logged.
        return .success(reading)
    }
}

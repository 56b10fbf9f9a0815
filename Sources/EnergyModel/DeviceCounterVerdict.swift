/// What the ledger knows about a device when it judges the device's own energy counter.
public struct DeviceCounterContext: Sendable, Equatable {
    /// The most power the meter can report, watts: no counter can rise faster. The meter's
    /// rating (`MeterRating.maximumWatts`), a parameter so that a configured maximum can
    /// take its place.
    public var maximumWatts: Double
    /// Seconds since the device booted, when this poll read it.
    public var uptimeSeconds: Double?
    /// The per-minute figures this poll read with the sample (Gen2+ `aenergy.by_minute`, Gen1
    /// `meters[].counters`), if any: where a gap's energy lies.
    public var minutes: DeviceMinutes?
    /// Whether the device keeps a history of per-minute records (EMData, EM1Data, Gen1
    /// `em_data.csv`) that a gap's energy can be read from.
    public var keepsHistory: Bool

    /// The bound when none is known: a plug's 16 A at 250 V, twice (`MeterRating.plug`).
    public static let defaultMaximumWatts = 8_000.0

    /// Creates a context.
    public init(
        maximumWatts: Double = DeviceCounterContext.defaultMaximumWatts, uptimeSeconds: Double? = nil,
        minutes: DeviceMinutes? = nil, keepsHistory: Bool = false
    ) {
        self.maximumWatts = maximumWatts
        self.uptimeSeconds = uptimeSeconds
        self.minutes = minutes
        self.keepsHistory = keepsHistory
    }

    /// `maximumWatts` when it is a usable bound, else the default.
    var boundWatts: Double {
        maximumWatts.isFinite && maximumWatts > 0 ? maximumWatts : Self.defaultMaximumWatts
    }
}

/// Why a device counter reading was refused; the values are the `reason` label of
/// `energy_monitor_device_energy_refusals_total`.
public struct DeviceCounterRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The kinds of refusal.
    public enum Reason: String, Sendable, CaseIterable {
        /// Not a finite, non-negative number, or more than the meter could count in a century.
        case invalid
        /// A rise faster than the meter's maximum power allows in the time since the last
        /// reading (or, after a reboot, since the boot).
        case jump
        /// A fall without a reboot (the device's uptime did not go down), or one whose
        /// reboot cannot be judged because the uptime is unknown.
        case decrease
    }

    /// The kind.
    public var reason: Reason
    /// One line for the log.
    public var message: String

    /// Creates a refusal.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// `reason: message`
    public var description: String { "\(reason.rawValue): \(message)" }
}

/// How the ledger took a sample's device counter.
public enum DeviceCounterVerdict: Sendable, Equatable {
    /// The sample carried no counter.
    case absent
    /// The sample is not newer than the last one: its counter is not judged (nor stored).
    case ignored
    /// Accepted; `joules` were added to `EnergyCounters.deviceJoules`.
    case accepted(Acceptance, joules: Double)
    /// Refused: neither stored nor published, counted and logged.
    case refused(DeviceCounterRefusal)

    /// How a counter was accepted.
    public enum Acceptance: String, Sendable, Equatable {
        /// A rise within the bound, or the same value.
        case increase
        /// The first value (of the node, or after a repair): a baseline. It adds what the
        /// device counted since its boot when its uptime shows it could have.
        case first
        /// A fall with the device's uptime gone down: the count since the reboot is added.
        case reboot
        /// Readings refused as a jump or a fall went on consistently from the new value for
        /// `EnergyCounters.rebaselineReadings` readings: the new value is the baseline (the
        /// step itself adds nothing, the rises since it do).
        case rebaseline
    }

    /// Whether the counter may be stored and published with its sample.
    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}

/// The rules for the device's own energy counter: a reading is taken only when it is a
/// finite, non-negative number within what the meter could count in a century, and its rise
/// since the value was first seen is at most what the meter's maximum power adds in that time
/// (plus `slackSeconds`). A fall is a reboot only when the device's uptime went down too (it
/// booted after the last reading, or after the boot last seen); the count since the reboot is
/// then bounded by the uptime and by the time since the last reading. Every other reading is
/// refused. Refused readings that go on consistently from a new value for `rebaselineReadings`
/// readings make it the new baseline, so a counter reset by hand, or a stored baseline that was wrong, costs a few readings and
/// never adds the step. So `deviceJoules` never grows faster than the meter's maximum power.
extension EnergyCounters {
    /// Readings after a refused one that must go on consistently from it before it becomes
    /// the new baseline.
    public static let rebaselineReadings = 10
    /// Seconds added to every elapsed time: the device's counter and our timestamps tick apart.
    public static let slackSeconds = 2.0
    /// How much later than expected a boot must lie to count as a reboot, milliseconds: uptimes
    /// come in whole seconds, and the reading's time is the middle of its exchange.
    public static let bootToleranceMilliseconds: Int64 = 1_500
    /// A century of seconds: no counter is older.
    static let centurySeconds = 100 * 365.25 * 86_400
    /// The largest energy any counter of the store can hold, joules: the largest meter (a
    /// three-phase meter read up to 180 kW) over a century. A stored counter above it is
    /// repaired at start.
    public static let plausibleJoulesLimit = 180_000 * centurySeconds

    /// The most a counter of a meter of `maximumWatts` can rise in `milliseconds`, watt-hours.
    static func allowanceWattHours(maximumWatts: Double, milliseconds: Int64) -> Double {
        maximumWatts * (Double(max(0, milliseconds)) / 1000 + slackSeconds) / 3600
    }

    /// Judges `wattHours`, the counter of a sample taken at `time` (newer than every sample
    /// before), and advances `deviceJoules` when it is accepted.
    mutating func judgeDeviceCounter(_ wattHours: Double?, at time: Int64, context: DeviceCounterContext)
        -> DeviceCounterVerdict
    {
        let maximumWatts =
            context.maximumWatts.isFinite && context.maximumWatts > 0
            ? context.maximumWatts : DeviceCounterContext.defaultMaximumWatts
        // The device's boot time by this reading, and by the last reading that carried an uptime.
        let bootBefore = deviceBootMilliseconds
        var boot: Int64?
        var uptimeMilliseconds: Int64?
        if let uptime = context.uptimeSeconds, uptime.isFinite, uptime >= 0, uptime < Self.centurySeconds,
            let milliseconds = Int64(rounding: uptime * 1000)
        {
            uptimeMilliseconds = milliseconds
            boot = time - milliseconds
            deviceBootMilliseconds = boot
        }
        guard let counter = wattHours else { return .absent }
        guard counter.isFinite, counter >= 0, counter <= maximumWatts * Self.centurySeconds / 3600 else {
            return .refused(
                DeviceCounterRefusal(
                    .invalid, "device counter \(counter) Wh is not a count a \(maximumWatts) W meter can reach"))
        }
        guard let previous = lastDeviceWattHours, let since = lastDeviceMilliseconds else {
            var added = 0.0
            if let uptimeMilliseconds,
                counter <= Self.allowanceWattHours(maximumWatts: maximumWatts, milliseconds: uptimeMilliseconds)
            {
                added = counter * 3600
            }
            acceptDevice(counter, at: time, adding: added)
            return .accepted(.first, joules: added)
        }
        let elapsed = time - since
        let refusal: DeviceCounterRefusal
        if counter >= previous {
            let allowed = Self.allowanceWattHours(maximumWatts: maximumWatts, milliseconds: elapsed)
            if counter - previous <= allowed {
                // The value's time is when it was first seen: a device that updates its counter
                // now and then may add all the time since then at once.
                acceptDevice(counter, at: counter > previous ? time : since, adding: (counter - previous) * 3600)
                return .accepted(.increase, joules: (counter - previous) * 3600)
            }
            refusal = DeviceCounterRefusal(
                .jump,
                "device counter rose \(counter - previous) Wh in \(elapsed) ms; "
                    + "a \(maximumWatts) W meter adds at most \(allowed) Wh"
            )
        } else if let boot, let uptimeMilliseconds {
            let rebooted =
                boot > since + Self.bootToleranceMilliseconds
                || bootBefore.map { boot > $0 + Self.bootToleranceMilliseconds } == true
            if rebooted {
                // Counted since the boot, and the boot came after the last reading (bounded by
                // both, whatever uptime a device claims).
                let allowed = Self.allowanceWattHours(
                    maximumWatts: maximumWatts, milliseconds: min(uptimeMilliseconds, elapsed))
                if counter <= allowed {
                    acceptDevice(counter, at: time, adding: counter * 3600)
                    return .accepted(.reboot, joules: counter * 3600)
                }
                refusal = DeviceCounterRefusal(
                    .jump,
                    "device counter \(counter) Wh \(uptimeMilliseconds) ms after a reboot; "
                        + "a \(maximumWatts) W meter counts at most \(allowed) Wh"
                )
            } else {
                refusal = DeviceCounterRefusal(
                    .decrease,
                    "device counter fell from \(previous) to \(counter) Wh "
                        + "while the device stayed up (\(uptimeMilliseconds / 1000) s)"
                )
            }
        } else {
            refusal = DeviceCounterRefusal(
                .decrease, "device counter fell from \(previous) to \(counter) Wh and the device's uptime is unknown")
        }
        return rebaselineOrRefuse(counter, at: time, maximumWatts: maximumWatts, refusal)
    }

    /// Takes `counter` as the new baseline at `time`, adding `joules`.
    private mutating func acceptDevice(_ counter: Double, at time: Int64, adding joules: Double) {
        deviceJoules += joules
        lastDeviceWattHours = counter
        lastDeviceMilliseconds = time
        deviceCandidate = nil
    }

    /// Refuses `counter`, or, when it is the `rebaselineReadings`-th reading going on
    /// consistently from an earlier refused one, makes it the new baseline.
    private mutating func rebaselineOrRefuse(
        _ counter: Double, at time: Int64, maximumWatts: Double, _ refusal: DeviceCounterRefusal
    ) -> DeviceCounterVerdict {
        if var candidate = deviceCandidate, counter >= candidate.wattHours,
            counter - candidate.wattHours
                <= Self.allowanceWattHours(maximumWatts: maximumWatts, milliseconds: time - candidate.milliseconds)
        {
            candidate.readings += 1
            if counter > candidate.wattHours { candidate.milliseconds = time }
            candidate.wattHours = counter
            if candidate.readings >= Self.rebaselineReadings {
                let added = (counter - candidate.firstWattHours) * 3600
                acceptDevice(counter, at: candidate.milliseconds, adding: added)
                return .accepted(.rebaseline, joules: added)
            }
            deviceCandidate = candidate
        } else {
            deviceCandidate = DeviceCounterCandidate(
                firstWattHours: counter, wattHours: counter, milliseconds: time, readings: 0)
        }
        return .refused(refusal)
    }
}

/// The rules for a gap: a stretch between two samples longer than the bridging limit. The
/// device's counter bridges it when the last sample before it and the first after it both
/// carry an accepted counter reading, the device's uptime at the first shows that it has been
/// up since before the gap (a reboot restarts the counter), and the difference is neither
/// negative nor more than the meter's maximum power adds over the gap (the same bound as for
/// every counter reading, `judgeDeviceCounter`). Its energy is then placed by the device's
/// per-minute figures where they cover the gap (`GapFill`). Otherwise the gap stays a gap.
/// A device that keeps a history is read for it instead (`EnergyGap.awaitsHistory`); a gap
/// whose last minute a later status will give a figure for waits for it (`awaitsMinutes`).
extension EnergyCounters {
    /// How far the wall-clock length of a gap may differ from the monotonic one before the
    /// wall clock counts as stepped during it (its energy could not be placed in time).
    public static let gapClockToleranceMilliseconds: Int64 = 2_000

    /// Judges the gap `[from, to)`.
    /// - Parameters:
    ///   - monotonicGap: the gap on the monotonic clock, when both samples were taken by this process.
    ///   - counterBefore: the last accepted counter and when it was read.
    ///   - counterAfter: the counter of the sample after the gap; `verdict` how it was taken.
    ///   - before: what the samples measured in the gap's first minute before it.
    func judgeGap(
        from: Int64, to: Int64, monotonicGap: Int64?, counterBefore: (wattHours: Double?, readAt: Int64?),
        counterAfter: Double?, verdict: DeviceCounterVerdict, device: DeviceCounterContext,
        before: GapFill.MeasuredMinute?
    ) -> EnergyGap {
        var gap = Self.counterGap(
            from: from, to: to, monotonicGap: monotonicGap, counterBefore: counterBefore, counterAfter: counterAfter,
            verdict: verdict, device: device)
        let wallClockStepped = gap.outcome == .implausible && gap.reason.hasPrefix("the wall clock")
        if device.keepsHistory, !wallClockStepped {
            gap.awaitsHistory = true
            gap.seconds = [:]
            return gap
        }
        guard gap.outcome == .backfilled, let joules = gap.counterJoules else {
            return gap.placed([], rest: gap.outcome, reason: gap.reason)
        }
        let figures = device.minutes?.believable(maximumWatts: device.boundWatts, nowMilliseconds: to)
        if let figures, GapFill.minuteStart(to) != to {
            // The gap's last minute is still running: its figure comes with a later status.
            gap.awaitsMinutes = true
            gap.figures = figures
            gap.seconds = [:]
            return gap
        }
        let parts = GapFill.parts(from: from, to: to, counterJoules: joules, figures: figures, before: before)
        return gap.placed(parts, rest: .noCounter, reason: gap.reason)
    }

    /// What the counter alone makes of the gap: `backfilled` with its joules (not yet placed),
    /// or why it cannot bridge it.
    static func counterGap(
        from: Int64, to: Int64, monotonicGap: Int64?, counterBefore: (wattHours: Double?, readAt: Int64?),
        counterAfter: Double?, verdict: DeviceCounterVerdict, device: DeviceCounterContext
    ) -> EnergyGap {
        func gap(_ outcome: GapOutcome, _ reason: String, joules: Double? = nil) -> EnergyGap {
            EnergyGap(
                fromMilliseconds: from, toMilliseconds: to, outcome: outcome, reason: reason, counterJoules: joules)
        }
        let span = to - from
        guard span > 0 else {
            return gap(.implausible, "the wall clock went back across the gap: its energy cannot be placed in time")
        }
        if let monotonicGap, abs(monotonicGap - span) > gapClockToleranceMilliseconds {
            return gap(
                .implausible,
                "the wall clock was stepped during the gap (\(span) ms by the wall clock, \(monotonicGap) ms passed): "
                    + "its energy cannot be placed in time")
        }
        guard let old = counterBefore.wattHours, counterBefore.readAt == from else {
            return gap(.noCounter, "no device counter reading with the last sample before the gap")
        }
        guard let new = counterAfter else {
            return gap(.noCounter, "no device counter reading with the first sample after the gap")
        }
        guard let uptime = device.uptimeSeconds, uptime.isFinite, uptime >= 0, uptime < centurySeconds,
            let uptimeMilliseconds = Int64(rounding: uptime * 1000)
        else {
            return gap(
                .noCounter, "the device's uptime is unknown, so its counter cannot be shown to have kept counting")
        }
        let boot = to - uptimeMilliseconds
        if boot > from + bootToleranceMilliseconds {
            return gap(
                .deviceRebooted,
                "the device booted \((boot - from) / 1000) s into the gap (uptime \(uptimeMilliseconds / 1000) s): "
                    + "its counter restarted")
        }
        if case .refused(let refusal) = verdict {
            return gap(.implausible, "the counter after the gap was refused: \(refusal.message)")
        }
        guard new >= old else {
            return gap(
                .implausible,
                "the device counter fell from \(old) to \(new) Wh across the gap while the device stayed up")
        }
        let allowed = allowanceWattHours(maximumWatts: device.boundWatts, milliseconds: span)
        guard new - old <= allowed else {
            return gap(
                .implausible,
                "the device counter rose \(new - old) Wh over the \(span / 1000) s gap; "
                    + "a \(device.boundWatts) W meter adds at most \(allowed) Wh")
        }
        return gap(.backfilled, "the device counter bridged the gap", joules: (new - old) * 3600)
    }
}

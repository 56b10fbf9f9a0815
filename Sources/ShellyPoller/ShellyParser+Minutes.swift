import EnergyModel
import JSON

/// The per-minute energy figures of a status: where a gap's energy lies.
///
/// Gen2+ `aenergy` (Switch, PM1): `by_minute` holds the energy of the last three whole minutes
/// in milliwatt-hours, the newest first, and `minute_ts` the first second of the current minute
/// (unix seconds): `by_minute[k]` is the minute that ends `k` minutes before `minute_ts`. The
/// current, unfinished minute is in none of them. Gen1 `meters[]`: `counters` holds the last
/// three round minutes in watt-minutes, the newest first, and `timestamp` the time of the
/// reading in the device's local time (its time zone added), from which the current minute
/// follows.
extension ShellyParser {
    /// How far a device's clock may lie from the sample's time before its minutes are not used:
    /// a minute and a half (the current minute starts at most a minute before the reading).
    static let minuteClockToleranceMilliseconds: Int64 = 90_000

    /// The per-minute figures of a Gen2+ component status (`Switch.GetStatus`, or the
    /// component's member of `Shelly.GetStatus`, bare or in an RPC frame), read at `takenAt`.
    public static func rpcMinutes(_ json: JSONValue, component: MeterComponent, takenAt: Int64) -> DeviceMinutes? {
        let status = json["result"] ?? json
        let value = status[component.description] ?? status
        guard let energy = value["aenergy"], let list = energy["by_minute"]?.array,
            let seconds = energy["minute_ts"]?.number, (0..<1e12).contains(seconds),
            let minute = Int64(rounding: seconds * 1000)
        else { return nil }
        return minutes(list, unitJoules: 3.6, currentMinute: minute, takenAt: takenAt)
    }

    /// The per-minute figures of channel `channel` of a Gen1 `/status`, read at `takenAt`.
    public static func gen1Minutes(_ json: JSONValue, channel: Int, takenAt: Int64) -> DeviceMinutes? {
        guard let meter = json["meters"]?[channel], let list = meter["counters"]?.array,
            let seconds = meter["timestamp"]?.number, (0..<1e12).contains(seconds),
            let local = Int64(rounding: seconds * 1000), (0..<(1 << 52)).contains(takenAt)
        else { return nil }
        // The device's time zone: whole quarter hours between its local time and ours.
        guard let zone = Int64(rounding: Double(local - takenAt) / 900_000) else { return nil }
        let deviceNow = local - zone * 900_000
        return minutes(list, unitJoules: 60, currentMinute: GapFill.minuteStart(deviceNow), takenAt: takenAt)
    }

    /// The figures of `list` (newest first, in units of `unitJoules`), the newest being the
    /// minute that ends at `currentMinute`; nil when the device's clock is off.
    private static func minutes(_ list: [JSONValue], unitJoules: Double, currentMinute: Int64, takenAt: Int64)
        -> DeviceMinutes?
    {
        let (lag, overflow) = takenAt.subtractingReportingOverflow(currentMinute)
        guard !overflow, lag >= -5_000, lag <= minuteClockToleranceMilliseconds, !list.isEmpty, list.count <= 60 else {
            return nil
        }
        var intervals: [DeviceMinutes.Interval] = []
        for (index, value) in list.enumerated() {
            guard let figure = value.number, figure.isFinite, figure >= 0 else { continue }
            let end = currentMinute - Int64(truncatingIfNeeded: index) * 60_000
            intervals.append(
                DeviceMinutes.Interval(startMilliseconds: end - 60_000, endMilliseconds: end, joules: figure * unitJoules))
        }
        return intervals.isEmpty ? nil : DeviceMinutes(source: .minutes, intervals: intervals)
    }
}

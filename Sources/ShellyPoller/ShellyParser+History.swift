import EnergyModel
import Foundation
import JSON

/// The stored history of energy meters: per-minute records a gap's energy is read from.
///
/// `EMData.GetData` (Pro 3EM, 3EM Gen3) and `EM1Data.GetData` (Pro EM, EM Gen3) answer
/// `{"keys":[...],"data":[{"ts":T,"period":P,"values":[[...],...]}],"next_record_ts":N}`: each
/// block's rows are consecutive periods from `ts` (unix seconds), each row's values in the
/// order of `keys`; the energy of a period is `total_act_energy` (EM1Data) or the sum of
/// `a_`, `b_` and `c_total_act_energy` (EMData), in watt-hours. `next_record_ts` is where the
/// next chunk starts when the answer was cut. Gen1 EM and 3EM answer `/emeter/N/em_data.csv`:
/// `Date/time UTC,Active energy Wh,Returned energy Wh,Min V,Max V`, a row per period.
extension ShellyParser {
    /// The records of an `EMData.GetData` or `EM1Data.GetData` answer (bare or in an RPC
    /// frame), and where the next chunk starts (unix seconds) when there is one.
    public static func energyRecords(_ json: JSONValue) throws(ShellyPayloadError) -> (
        intervals: [DeviceMinutes.Interval], nextSeconds: Int64?
    ) {
        if let rpcError = rpcError(in: json) { throw rpcError }
        let result = json["result"] ?? json
        guard let keys = result["keys"]?.array?.compactMap(\.string), let blocks = result["data"]?.array else {
            throw ShellyPayloadError("GetData: no keys or data")
        }
        let single = keys.firstIndex(of: "total_act_energy")
        let phases = ["a_total_act_energy", "b_total_act_energy", "c_total_act_energy"].compactMap { keys.firstIndex(of: $0) }
        guard single != nil || !phases.isEmpty else {
            throw ShellyPayloadError("GetData: no total_act_energy among the keys")
        }
        let columns = single.map { [$0] } ?? phases
        var intervals: [DeviceMinutes.Interval] = []
        for block in blocks {
            guard let ts = block["ts"]?.integer, let period = block["period"]?.number.flatMap({ Int64(rounding: $0) }),
                (1...86_400).contains(period), (0..<(1 << 40)).contains(ts), let rows = block["values"]?.array,
                rows.count <= 1_000_000
            else { throw ShellyPayloadError("GetData: a data block without ts, period or values") }
            for (index, row) in rows.enumerated() {
                guard let values = row.array else { continue }
                var wattHours = 0.0
                var complete = true
                for column in columns {
                    guard let value = values.indices.contains(column) ? values[column].number : nil, value.isFinite else {
                        complete = false
                        break
                    }
                    wattHours += value
                }
                guard complete else { continue }
                let start = (ts + Int64(truncatingIfNeeded: index) * period) * 1000
                intervals.append(
                    DeviceMinutes.Interval(startMilliseconds: start, endMilliseconds: start + period * 1000, joules: wattHours * 3600))
            }
        }
        let next = result["next_record_ts"]?.integer.flatMap { (0..<(1 << 40)).contains($0) ? $0 : nil }
        return (intervals, next)
    }

    /// The records of a Gen1 `em_data.csv` with `from <= time < to` (unix milliseconds): each
    /// row's energy over the period up to the next row (a minute for the last one).
    public static func gen1EnergyCSV(_ text: String, fromMilliseconds from: Int64, toMilliseconds to: Int64)
        throws(ShellyPayloadError) -> [DeviceMinutes.Interval]
    {
        var rows: [(time: Int64, wattHours: Double)] = []
        var sawHeader = false
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 2 else { continue }
            if !sawHeader, fields[0].lowercased().hasPrefix("date") {
                sawHeader = true
                continue
            }
            guard let time = csvTime(fields[0]), let wattHours = Double(fields[1]), wattHours.isFinite, wattHours >= 0
            else { continue }
            rows.append((time, wattHours))
        }
        guard sawHeader || !rows.isEmpty else { throw ShellyPayloadError("em_data.csv: no records") }
        rows.sort { $0.time < $1.time }
        var intervals: [DeviceMinutes.Interval] = []
        for (index, row) in rows.enumerated() where row.time < to {
            let next = index + 1 < rows.count ? rows[index + 1].time : row.time + 60_000
            let end = min(next, row.time + 60_000)
            guard end > row.time, end > from else { continue }
            intervals.append(
                DeviceMinutes.Interval(startMilliseconds: row.time, endMilliseconds: end, joules: row.wattHours * 3600))
        }
        return intervals
    }

    /// `2026-01-21 21:25` or `2026-01-21 21:25:00` (UTC) as unix milliseconds.
    static func csvTime(_ text: String) -> Int64? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int64($0) }
        let time = parts[1].split(separator: ":").compactMap { Int64($0) }
        guard date.count == 3, time.count == 2 || time.count == 3, (1970...9999).contains(date[0]),
            (1...12).contains(date[1]), (1...31).contains(date[2]), (0...23).contains(time[0]), (0...59).contains(time[1])
        else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let year = date[1] <= 2 ? date[0] - 1 : date[0]
        let era = year / 400
        let yearOfEra = year - era * 400
        let month = date[1]
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + date[2] - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = time.count == 3 ? time[2] : 0
        guard (0...59).contains(seconds) else { return nil }
        return ((days * 24 + time[0]) * 60 + time[1]) * 60_000 + seconds * 1000
    }
}

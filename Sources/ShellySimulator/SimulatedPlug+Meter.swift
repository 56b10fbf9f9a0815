import Foundation

/// The answers of a simulated three-phase energy meter (`SimulatedModel.threePhaseMeter`): the
/// load shared out over the phases (`SimulatedModel.phaseShares`), its totals, and the
/// per-minute records of its history, every figure the exact integral of the power served.
///
/// Pro 3EM (Gen2+): `EM.GetStatus`, `EMData.GetStatus`, `EMData.GetRecords`, `EMData.GetData`
/// (`keys`, `data` blocks of `ts`, `period` and `values`, `next_record_ts` when an answer is
/// cut) and `Shelly.GetStatus` with `em:0` and `emdata:0`. Gen1 3EM: `/status` with three
/// `emeters` (totals in watt-hours) and `/emeter/N/em_data.csv`.
extension SimulatedPlug {
    /// Records one `EMData.GetData` answer holds at most before it is cut.
    static let recordsPerAnswer: Int64 = 720

    /// The per-phase keys of an EMData record, in the device's order.
    static let phaseKeys = [
        "total_act_energy", "fund_act_energy", "total_act_ret_energy", "fund_act_ret_energy", "lag_react_energy",
        "lead_react_energy", "max_act_power", "min_act_power", "max_aprt_power", "min_aprt_power", "max_voltage",
        "min_voltage", "avg_voltage", "max_current", "min_current", "avg_current",
    ]

    func meterAnswer(path: String, uri: String, now: Double) -> Answer {
        if specification.generation == 1 {
            if path == "/status" {
                let reading = read(now: now)
                let served = Self.round(reading.watts * SimulatedModel.phaseShares[0], 2)
                return faulty(Answer(status: 200, body: gen1MeterStatus(reading, now: now), servedWatts: served))
            }
            let parts = path.split(separator: "/")
            if parts.count == 3, parts[0] == "emeter", let channel = Int(parts[1]), (0..<3).contains(channel),
                parts[2] == "em_data.csv"
            {
                return Answer(status: 200, headers: [("Content-Type", "text/csv")], body: gen1CSV(channel: channel, now: now))
            }
            return Answer(status: 404, body: "Not Found")
        }
        let reading = read(now: now)
        let watts = Self.round(reading.watts, 3)
        switch path {
        case "/rpc/EM.GetStatus":
            guard Self.query(uri, "id") == "0" else { return notFound() }
            return faulty(Answer(status: 200, body: emStatus(reading, now: now), servedWatts: watts))
        case "/rpc/EMData.GetStatus":
            guard Self.query(uri, "id") == "0" else { return notFound() }
            return Answer(status: 200, body: emDataStatus(reading))
        case "/rpc/EMData.GetRecords":
            guard Self.query(uri, "id") == "0" else { return notFound() }
            let (first, last) = recordSpan(now: now)
            return Answer(
                status: 200,
                body: "{\"data_blocks\":[{\"ts\":\(first),\"period\":60,\"records\":\(max(0, (last - first) / 60))}]}")
        case "/rpc/EMData.GetData":
            guard Self.query(uri, "id") == "0" else { return notFound() }
            return Answer(status: 200, body: emData(uri: uri, now: now))
        case "/rpc/Shelly.GetStatus":
            let body =
                "{\"em:0\":\(emStatus(reading, now: now)),\"emdata:0\":\(emDataStatus(reading)),"
                + "\"sys\":\(sysStatus(now: now)),"
                + "\"wifi\":{\"sta_ip\":\"127.0.0.1\",\"status\":\"got ip\",\"ssid\":\"simulated\",\"rssi\":-58}}"
            return faulty(Answer(status: 200, body: body, servedWatts: watts))
        default:
            return Answer(status: 404, body: "{\"code\":404,\"message\":\"No handler for \(path)\"}")
        }
    }

    private func notFound() -> Answer {
        Answer(status: 404, body: "{\"code\":-105,\"message\":\"Argument 'id', value 1 not found!\"}")
    }

    /// The first and the end (exclusive) of the minutes the device has records of at `now`
    /// (unix seconds): whole minutes, the newest the one that ended last.
    func recordSpan(now: Double) -> (first: Int64, end: Int64) {
        let end = Int64(clampingRounding: now, .down) / 60 * 60
        let first = end - specification.model.historyMinutes(generation: specification.generation) * 60
        return (first, end)
    }

    private func emStatus(_ reading: (watts: Double, volts: Double, amps: Double, energyWattHours: Double), now: Double)
        -> String
    {
        let literal = specification.fault?.wattsLiteral
        var fields: [String] = ["\"id\":0"]
        for (index, phase) in ["a", "b", "c"].enumerated() {
            let watts = reading.watts * SimulatedModel.phaseShares[index]
            fields += [
                "\"\(phase)_current\":\(Self.round(watts / reading.volts / 0.92, 3))",
                "\"\(phase)_voltage\":\(Self.round(reading.volts, 1))",
                "\"\(phase)_act_power\":\(literal ?? "\(Self.round(watts, 1))")",
                "\"\(phase)_aprt_power\":\(Self.round(watts / 0.92, 1))", "\"\(phase)_pf\":0.92", "\"\(phase)_freq\":50.0",
            ]
        }
        fields += [
            "\"n_current\":null", "\"total_current\":\(Self.round(reading.amps, 3))",
            "\"total_act_power\":\(literal ?? "\(Self.round(reading.watts, 3))")",
            "\"total_aprt_power\":\(Self.round(reading.watts / 0.92, 3))", "\"user_calibrated_phase\":[]",
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }

    private func emDataStatus(_ reading: (watts: Double, volts: Double, amps: Double, energyWattHours: Double)) -> String {
        let phases = SimulatedModel.phaseShares.map { Self.round(reading.energyWattHours * $0, 2) }
        return "{\"id\":0,\"a_total_act_energy\":\(phases[0]),\"a_total_act_ret_energy\":0,"
            + "\"b_total_act_energy\":\(phases[1]),\"b_total_act_ret_energy\":0,"
            + "\"c_total_act_energy\":\(phases[2]),\"c_total_act_ret_energy\":0,"
            + "\"total_act\":\(Self.round(reading.energyWattHours, 2)),\"total_act_ret\":0}"
    }

    /// `EMData.GetData?id=0&ts=T&end_ts=E`: the records of the minutes starting in `[T, E]` the
    /// device keeps, at most `recordsPerAnswer`, with `next_record_ts` when cut.
    private func emData(uri: String, now: Double) -> String {
        let (first, end) = recordSpan(now: now)
        let asked = Self.query(uri, "ts").flatMap { Int64($0) } ?? first
        let askedEnd = Self.query(uri, "end_ts").flatMap { Int64($0) }.map { $0 + 1 } ?? end
        var start = max(first, asked)
        start = (start + 59) / 60 * 60
        let stop = min(end, askedEnd)
        let keys = ["a", "b", "c"].flatMap { phase in Self.phaseKeys.map { "\"\(phase)_\($0)\"" } }
            + ["\"n_max_current\"", "\"n_min_current\"", "\"n_avg_current\""]
        var rows: [String] = []
        var minute = start
        while minute + 60 <= stop, Int64(rows.count) < Self.recordsPerAnswer {
            let joules = minuteJoules(endingAt: Double(minute + 60), now: now)
            let watts = self.watts(at: Double(minute) + 30)
            var values: [String] = []
            for share in SimulatedModel.phaseShares {
                let wattHours = Self.round(joules * share / 3600, 3)
                let power = Self.round(watts * share, 1)
                values += [
                    "\(wattHours)", "\(wattHours)", "0", "0", "0", "0", "\(power)", "\(power)", "\(Self.round(power / 0.92, 1))",
                    "\(Self.round(power / 0.92, 1))", "231.0", "229.0", "230.0", "0.0", "0.0", "0.0",
                ]
            }
            values += ["null", "null", "null"]
            rows.append("[" + values.joined(separator: ",") + "]")
            minute += 60
        }
        var body = "{\"keys\":[\(keys.joined(separator: ","))],\"data\":["
        if !rows.isEmpty { body += "{\"ts\":\(start),\"period\":60,\"values\":[\(rows.joined(separator: ","))]}" }
        body += "]"
        if minute + 60 <= stop { body += ",\"next_record_ts\":\(minute)" }
        return body + "}"
    }

    private func gen1MeterStatus(
        _ reading: (watts: Double, volts: Double, amps: Double, energyWattHours: Double), now: Double
    ) -> String {
        let literal = specification.fault?.wattsLiteral
        let meters = SimulatedModel.phaseShares.enumerated().map { index, share in
            let watts = reading.watts * share
            let total = index == 0 ? counterText(reading.energyWattHours * share, gen1: false) : "\(Self.round(reading.energyWattHours * share, 1))"
            return "{\"power\":\(literal ?? "\(Self.round(watts, 2))"),\"pf\":0.92,"
                + "\"current\":\(Self.round(watts / reading.volts / 0.92, 2)),\"voltage\":\(Self.round(reading.volts, 2)),"
                + "\"is_valid\":true,\"total\":\(total),\"total_returned\":0}"
        }
        return "{\"wifi_sta\":{\"connected\":true,\"ip\":\"127.0.0.1\",\"rssi\":-60},"
            + "\"relays\":[{\"ison\":true,\"has_timer\":false,\"overpower\":false,\"is_valid\":true,\"source\":\"input\"}],"
            + "\"emeters\":[\(meters.joined(separator: ","))],\"total_power\":\(Self.round(reading.watts, 2)),"
            + "\"unixtime\":\(Int(clampingRounding: now, .down)),\"uptime\":\(Int(clampingRounding: uptime(now: now), .down))}"
    }

    /// `/emeter/N/em_data.csv`: every minute the device keeps, one row each.
    private func gen1CSV(channel: Int, now: Double) -> String {
        let (first, end) = recordSpan(now: now)
        let share = SimulatedModel.phaseShares[channel]
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        var lines = ["Date/time UTC,Active energy Wh,Returned energy Wh,Min V,Max V"]
        var minute = first
        while minute < end {
            let wattHours = Self.round(minuteJoules(endingAt: Double(minute + 60), now: now) * share / 3600, 3)
            lines.append(
                formatter.string(from: Date(timeIntervalSince1970: Double(minute))) + ",\(wattHours),0.000,229.0,231.0")
            minute += 60
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

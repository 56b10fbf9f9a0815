import EnergyModel
import Foundation

extension SimulatedPlug {
    /// An HTTP answer of the simulated device.
    struct Answer {
        var status: Int
        var headers: [(String, String)] = []
        var body: String
        /// Set when the answer carries a reading.
        var servedWatts: Double?
    }

    /// Answers `GET uri` as the real device would; `preauthenticated` for RPC frames of a
    /// WebSocket whose `auth` object was already checked.
    func answer(method: String, uri: String, authorization: String?, now: Double, preauthenticated: Bool = false) -> Answer {
        if specification.fault == .httpError {
            return Answer(status: 500, body: "{\"code\":500,\"message\":\"Internal error\"}")
        }
        if specification.fault == .garbage {
            return Answer(status: 200, body: "<html><body>\u{1}\u{2}garbage{{not json")
        }
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let claimsGen1 = countRequest(basicCredentials: authorization?.lowercased().hasPrefix("basic ") == true)
        if claimsGen1 {
            // Someone else on the plug's address: a Gen1 device that wants Basic credentials.
            if path == "/shelly" { return Answer(status: 200, body: gen1Shelly) }
            return Answer(status: 401, headers: [("WWW-Authenticate", "Basic realm=\"\(deviceID)\"")], body: "401 Unauthorized")
        }
        // `/shelly` is open on real devices, so that clients can learn whether to authenticate.
        if path == "/shelly" {
            return Answer(status: 200, body: specification.generation == 1 ? gen1Shelly : rpcShelly)
        }
        if let password = specification.password, !preauthenticated {
            if specification.generation == 1 {
                let expected = "Basic " + Data("admin:\(password)".utf8).base64EncodedString()
                guard authorization == expected else {
                    return Answer(
                        status: 401, headers: [("WWW-Authenticate", "Basic realm=\"\(deviceID)\"")],
                        body: "401 Unauthorized"
                    )
                }
            } else if let digest {
                switch digest.check(authorization: authorization, method: method, uri: uri, now: now) {
                case .allowed:
                    break
                case .challenge(let header):
                    return Answer(status: 401, headers: [("WWW-Authenticate", header)], body: "")
                case .throttled:
                    return Answer(status: 429, body: "Too many failed authentication attempts")
                }
            }
        }
        if specification.generation >= 2, path == "/rpc/Sys.GetStatus" {
            return Answer(status: 200, body: sysStatus(now: now))
        }
        if specification.model == .threePhaseMeter {
            return meterAnswer(path: path, uri: uri, now: now)
        }
        let reading = read(now: now)
        if specification.generation == 1 {
            guard path == "/status" else { return Answer(status: 404, body: "Not Found") }
            let watts = Self.round(reading.watts, 2)
            return faulty(Answer(status: 200, body: gen1Status(reading, watts: wattsText(watts), now: now), servedWatts: watts))
        }
        let watts = Self.round(reading.watts, 1)
        switch path {
        case "/rpc/Switch.GetStatus":
            guard Self.query(uri, "id") == "0" else {
                return Answer(status: 404, body: "{\"code\":-105,\"message\":\"Argument 'id', value 1 not found!\"}")
            }
            return faulty(Answer(status: 200, body: switchStatus(reading, watts: wattsText(watts), now: now), servedWatts: watts))
        case "/rpc/Shelly.GetStatus":
            let body = "{\"switch:0\":\(switchStatus(reading, watts: wattsText(watts), now: now)),"
                + "\"sys\":\(sysStatus(now: now)),"
                + "\"wifi\":{\"sta_ip\":\"127.0.0.1\",\"status\":\"got ip\",\"ssid\":\"simulated\",\"rssi\":-58}}"
            return faulty(Answer(status: 200, body: body, servedWatts: watts))
        default:
            return Answer(status: 404, body: "{\"code\":404,\"message\":\"No handler for \(path)\"}")
        }
    }

    /// The power as written in a status body: the load curve's, or the fault's literal.
    func wattsText(_ watts: Double) -> String {
        specification.fault?.wattsLiteral ?? "\(watts)"
    }

    /// A status answer as the plug's fault mangles it; `servedWatts` is what the body claims,
    /// or nil when it claims no number at all.
    func faulty(_ answer: Answer) -> Answer {
        guard let fault = specification.fault else { return answer }
        var answer = answer
        switch fault {
        case .hugeBody:
            // Valid JSON, 8 MiB: a reading followed by a padding member.
            answer.body = String(answer.body.dropLast()) + ",\"padding\":\"" + Self.padding + "\"}"
            answer.servedWatts = nil
        case .hugeHeaders:
            answer.headers += Self.paddingHeaders
            answer.servedWatts = nil
        case .truncated:
            answer.body = String(answer.body.prefix(answer.body.utf8.count / 2))
            answer.servedWatts = nil
        case .nan, .infinite:
            answer.servedWatts = nil
        case .absurd, .negative, .negativeNoise:
            answer.servedWatts = fault.wattsLiteral.flatMap(Double.init)
        case .unreachable, .slow, .httpError, .garbage, .reboot, .md5Digest, .downgrade, .impostor, .noWebSocket,
            .silentWebSocket, .counterOverflow, .counterJump, .counterDrop, .forgedLog, .gapCounterDrop, .gapCounterJump:
            break
        }
        return answer
    }

    /// 8 MiB of filler, built once.
    private static let padding = String(repeating: "x", count: 8 << 20)
    /// 64 KiB of header lines: four times the poller's limit, yet below libcurl's own limits
    /// (100 KiB a line; 300 KiB in all since 8.3, none before), so only the poller's cap stops them.
    private static let paddingHeaders = (0..<16).map { ("X-Padding-\($0)", String(repeating: "x", count: 4096)) }

    private var gen1Shelly: String {
        let meter = specification.model == .threePhaseMeter
        return "{\"type\":\"\(meter ? "SHEM-3" : "SHPLG-S")\",\"mac\":\"\(mac)\",\"auth\":\(specification.password != nil),"
            + "\"fw\":\"20230913-113421/v1.14.0-gcb84623\",\"discoverable\":false,\"num_outputs\":1,"
            + (meter ? "\"num_meters\":0,\"num_emeters\":3}" : "\"num_meters\":1}")
    }

    private var rpcShelly: String {
        let (model, app): (String, String) =
            if specification.model == .threePhaseMeter {
                ("SPEM-003CEBEU", "Pro3EM")
            } else {
                switch specification.generation {
                case 3: ("S3PL-00112EU", "PlugSG3")
                case 4: ("S4PL-00416EU", "PowerStripG4")
                default: ("SNPL-00112EU", "PlusPlugS")
                }
            }
        if specification.fault == .forgedLog {
            // JSON-escaped: the model reads as "SNPL\n2026-... error energy-monitor: ...".
            let forged = "SNPL-00112EU\\n2026-01-01T00:00:00+0000 error energy-monitor: error=database or disk is full [Store] forged\\r\\u001b[2K"
            return "{\"name\":null,\"id\":\"\(deviceID)\",\"mac\":\"\(mac)\",\"slot\":0,\"model\":\"\(forged)\","
                + "\"gen\":\(specification.generation),\"fw_id\":\"\(forged)\",\"ver\":\"1.1.0\","
                + "\"app\":\"\(app)\",\"auth_en\":false,\"auth_domain\":null}"
        }
        let authDomain = specification.password != nil ? "\"\(deviceID)\"" : "null"
        return "{\"name\":null,\"id\":\"\(deviceID)\",\"mac\":\"\(mac)\",\"slot\":0,\"model\":\"\(model)\","
            + "\"gen\":\(specification.generation),\"fw_id\":\"20231219-134003/1.1.0-g34b5d4f\",\"ver\":\"1.1.0\","
            + "\"app\":\"\(app)\",\"auth_en\":\(specification.password != nil),\"auth_domain\":\(authDomain)}"
    }

    /// The offset of the simulated Gen1 devices' local time (their `timestamp`): UTC+1.
    static let gen1ZoneSeconds = 3600

    /// The energy of the last three whole minutes before the current one, newest first, in
    /// `unitJoules` to three decimals; and the current minute's start (unix seconds).
    func lastMinutes(now: Double, unitJoules: Double) -> (figures: [String], minute: Int) {
        let minute = Int(clampingRounding: now, .down) / 60 * 60
        let figures = (0..<3).map { index in
            "\(Self.round(minuteJoules(endingAt: Double(minute - 60 * index), now: now) / unitJoules, 3))"
        }
        return (figures, minute)
    }

    private func gen1Status(
        _ reading: (watts: Double, volts: Double, amps: Double, energyWattHours: Double), watts: String, now: Double
    ) -> String {
        // Gen1 meters count watt-minutes as an integer; `counters` are the last three round
        // minutes in watt-minutes; `timestamp` is local time.
        let total = counterText(reading.energyWattHours, gen1: true)
        let counters = lastMinutes(now: now, unitJoules: 60).figures.joined(separator: ",")
        return "{\"wifi_sta\":{\"connected\":true,\"ip\":\"127.0.0.1\",\"rssi\":-60},"
            + "\"relays\":[{\"ison\":true,\"has_timer\":false,\"overpower\":false,\"source\":\"http\"}],"
            + "\"meters\":[{\"power\":\(watts),\"overpower\":0.00,\"is_valid\":true,"
            + "\"timestamp\":\(Int(clampingRounding: now, .down) + Self.gen1ZoneSeconds),"
            + "\"counters\":[\(counters)],\"total\":\(total)}],"
            + "\"temperature\":31.2,\"overtemperature\":false,\"unixtime\":\(Int(clampingRounding: now, .down)),"
            + "\"uptime\":\(Int(clampingRounding: uptime(now: now), .down))}"
    }

    private func switchStatus(
        _ reading: (watts: Double, volts: Double, amps: Double, energyWattHours: Double), watts: String, now: Double
    ) -> String {
        // `by_minute`: the last three whole minutes in milliwatt-hours, newest first;
        // `minute_ts`: the current minute's first second.
        let (figures, minute) = lastMinutes(now: now, unitJoules: 3.6)
        return "{\"id\":0,\"source\":\"init\",\"output\":true,\"apower\":\(watts),"
            + "\"voltage\":\(Self.round(reading.volts, 1)),\"current\":\(Self.round(reading.amps, 3)),"
            + "\"aenergy\":{\"total\":\(counterText(reading.energyWattHours, gen1: false)),"
            + "\"by_minute\":[\(figures.joined(separator: ","))],"
            + "\"minute_ts\":\(minute)},\"temperature\":{\"tC\":33.4,\"tF\":92.1}}"
    }

    /// The `sys` object of `Shelly.GetStatus`, also the answer of `Sys.GetStatus`.
    func sysStatus(now: Double) -> String {
        "{\"mac\":\"\(mac)\",\"restart_required\":false,\"uptime\":\(Int(clampingRounding: uptime(now: now), .down)),"
            + "\"unixtime\":\(Int(clampingRounding: now, .down))}"
    }

    static func round(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    static func query(_ uri: String, _ key: String) -> String? {
        guard let question = uri.firstIndex(of: "?") else { return nil }
        for pair in uri[uri.index(after: question)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == key { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
}

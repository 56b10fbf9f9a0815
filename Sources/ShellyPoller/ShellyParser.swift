import EnergyModel
import JSON

/// Reads device info and meter readings out of Shelly payloads (Gen1 HTTP API and the
/// Gen2/Gen3/Gen4 RPC API). Pure functions: no I/O.
public enum ShellyParser {
    /// Parses a `/shelly` response.
    public static func deviceInfo(_ bytes: [UInt8]) throws(ShellyPayloadError) -> DeviceInfo {
        let json = try json(bytes)
        guard json.object != nil else { throw ShellyPayloadError("/shelly: not a JSON object") }
        if let gen = json["gen"] {
            // `gen` is a small integer; anything else (2.5, 1e300, "2") is not a device we know.
            guard let number = gen.integer, (2...99).contains(number) else {
                throw ShellyPayloadError("/shelly: unexpected gen \(Self.describe(gen))")
            }
            return DeviceInfo(
                generation: .rpc(Int(truncatingIfNeeded: number)),
                authenticationEnabled: json["auth_en"]?.bool ?? false,
                identifier: json["id"]?.string,
                model: json["model"]?.string,
                firmware: json["fw_id"]?.string ?? json["ver"]?.string,
                mac: json["mac"]?.string
            )
        }
        guard json["type"]?.string != nil || json["mac"]?.string != nil else {
            throw ShellyPayloadError("/shelly: neither a Gen1 (type) nor a Gen2+ (gen) device")
        }
        return DeviceInfo(
            generation: .gen1,
            authenticationEnabled: json["auth"]?.bool ?? false,
            identifier: json["mac"]?.string,
            model: json["type"]?.string,
            firmware: json["fw"]?.string,
            mac: json["mac"]?.string
        )
    }

    /// Reads channel `channel` of a Gen1 `/status`: `meters[channel]` (power meters; `total`
    /// in watt-minutes) or `emeters[channel]` (EM/3EM; `total` in Wh).
    public static func gen1Status(_ bytes: [UInt8], channel: Int) throws(ShellyPayloadError) -> ParsedReading {
        try gen1RatedStatus(bytes, channel: channel).reading
    }

    /// `gen1Status` plus the rating of the meter read: `meters` are plugs and relays,
    /// `emeters` single phases of an energy meter.
    static func gen1RatedStatus(
        _ bytes: [UInt8], channel: Int
    ) throws(ShellyPayloadError) -> (reading: ParsedReading, rating: MeterRating) {
        try gen1RatedStatus(json: json(bytes), channel: channel)
    }

    /// `gen1RatedStatus` of a parsed body.
    static func gen1RatedStatus(
        json: JSONValue, channel: Int
    ) throws(ShellyPayloadError) -> (reading: ParsedReading, rating: MeterRating) {
        if let rpcError = rpcError(in: json) { throw rpcError }
        if let meters = json["meters"] {
            guard let list = meters.array else { throw ShellyPayloadError("/status: meters is not an array") }
            guard let meter = list.indices.contains(channel) ? list[channel] : nil else {
                return (.noReading("no meter \(channel) (device has \(list.count))"), .plug)
            }
            var parsed = try gen1Meter(meter, path: "meters[\(channel)]", totalIsWattMinutes: true)
            // Relays with metering (Shelly 2.5) report one supply voltage for the device.
            if case .reading(var reading) = parsed, reading.volts == nil, let volts = json["voltage"]?.number {
                reading.volts = volts
                parsed = .reading(reading)
            }
            return (parsed, .plug)
        }
        if let emeters = json["emeters"] {
            guard let list = emeters.array else { throw ShellyPayloadError("/status: emeters is not an array") }
            guard let meter = list.indices.contains(channel) ? list[channel] : nil else {
                return (.noReading("no emeter \(channel) (device has \(list.count))"), .singlePhaseMeter)
            }
            return (try gen1Meter(meter, path: "emeters[\(channel)]", totalIsWattMinutes: false), .singlePhaseMeter)
        }
        guard json.object != nil else { throw ShellyPayloadError("/status: not a JSON object") }
        return (.noReading("device has no meters"), .plug)
    }

    private static func gen1Meter(
        _ meter: JSONValue, path: String, totalIsWattMinutes: Bool
    ) throws(ShellyPayloadError) -> ParsedReading {
        guard meter.object != nil else { throw ShellyPayloadError("\(path): not an object") }
        if meter["is_valid"]?.bool == false {
            return .noReading("\(path).is_valid is false")
        }
        // A meter without an energy total is a switch without metering (Shelly 1): its
        // `power` is a configured constant, not a measurement.
        guard let total = meter["total"] else { return .noReading("\(path): unmetered (no total)") }
        guard let power = try number(meter, "power", path) else { return .noReading("\(path): no power") }
        guard let totalValue = total.number else { throw ShellyPayloadError("\(path).total: not a number") }
        return .reading(
            Reading(
                watts: power,
                volts: try number(meter, "voltage", path),
                amps: try number(meter, "current", path),
                energyWattHours: totalIsWattMinutes ? totalValue / 60 : totalValue
            )
        )
    }

    /// Reads a Gen2+ component status (`Switch.GetStatus`, `PM1.GetStatus`, `EM1.GetStatus`,
    /// `EM.GetStatus`), counters in Wh.
    public static func componentStatus(
        _ bytes: [UInt8], kind: MeterComponent.Kind
    ) throws(ShellyPayloadError) -> ParsedReading {
        try componentStatus(json: json(bytes), kind: kind)
    }

    /// `componentStatus` of a parsed body or RPC frame.
    static func componentStatus(json: JSONValue, kind: MeterComponent.Kind) throws(ShellyPayloadError) -> ParsedReading {
        if let rpcError = rpcError(in: json) { throw rpcError }
        // A JSON-RPC envelope ({"id":..,"result":{...}}) is accepted as well as the bare result.
        let status = json["result"] ?? json
        return try component(status, kind: kind, path: kind.rawValue)
    }

    /// Finds the metering component for `channel` in a `Shelly.GetStatus` response: the first
    /// of `switch:N`, `pm1:N`, `em1:N`, `em:N` that carries power.
    /// - Returns: the component and its reading, or nil when the device meters nothing there.
    public static func findMeter(
        inDeviceStatus bytes: [UInt8], channel: Int
    ) throws(ShellyPayloadError) -> (MeterComponent, ParsedReading)? {
        try findMeter(inDeviceStatus: json(bytes), channel: channel)
    }

    /// `findMeter` in a parsed body or RPC frame.
    static func findMeter(inDeviceStatus json: JSONValue, channel: Int) throws(ShellyPayloadError) -> (MeterComponent, ParsedReading)? {
        if let rpcError = rpcError(in: json) { throw rpcError }
        let status = json["result"] ?? json
        guard status.object != nil else { throw ShellyPayloadError("Shelly.GetStatus: not a JSON object") }
        for kind in MeterComponent.Kind.allCases {
            let key = "\(kind.rawValue):\(channel)"
            guard let value = status[key] else { continue }
            let reading = try component(value, kind: kind, path: key)
            if case .noReading = reading, kind == .switch { continue }  // an unmetered switch
            return (MeterComponent(kind: kind, id: channel), reading)
        }
        return nil
    }

    private static func component(
        _ status: JSONValue, kind: MeterComponent.Kind, path: String
    ) throws(ShellyPayloadError) -> ParsedReading {
        guard status.object != nil else { throw ShellyPayloadError("\(path): not a JSON object") }
        switch kind {
        case .switch, .pm1:
            guard let power = try number(status, "apower", path) else {
                return .noReading("\(path): unmetered (no apower)")
            }
            var energy: Double?
            if let aenergy = status["aenergy"] {
                energy = try number(aenergy, "total", "\(path).aenergy")
            }
            return .reading(
                Reading(
                    watts: power,
                    volts: try number(status, "voltage", path),
                    amps: try number(status, "current", path),
                    energyWattHours: energy
                )
            )
        case .em1:
            guard let power = try number(status, "act_power", path) else {
                return .noReading("\(path): no act_power")
            }
            return .reading(
                Reading(watts: power, volts: try number(status, "voltage", path), amps: try number(status, "current", path))
            )
        case .em:
            guard let power = try number(status, "total_act_power", path) else {
                return .noReading("\(path): no total_act_power")
            }
            return .reading(Reading(watts: power, amps: try number(status, "total_current", path)))
        }
    }

    /// A number member: nil when absent or null, an error when of another type.
    private static func number(_ object: JSONValue, _ key: String, _ path: String) throws(ShellyPayloadError) -> Double? {
        guard let value = object[key] else { return nil }
        switch value {
        case .null: return nil
        case .integer, .double: return value.number
        default: throw ShellyPayloadError("\(path).\(key): not a number")
        }
    }

    /// The error of an RPC error body (`{"code":404,"message":...}` or a JSON-RPC frame with
    /// `error`), if `json` is one.
    static func rpcError(in json: JSONValue) -> ShellyPayloadError? {
        if let error = json["error"], error.object != nil {
            let code = error["code"].map(Self.describe) ?? "?"
            return ShellyPayloadError("RPC error \(code): \(error["message"]?.string ?? "no message")")
        }
        if let code = json["code"], code.number != nil, let message = json["message"]?.string, json.object?.count == 2 {
            return ShellyPayloadError("RPC error \(Self.describe(code)): \(message)")
        }
        return nil
    }

    /// A short text of a value from a payload, for an error line: integers as such, other
    /// numbers as the nearest double (never converted to an integer), strings quoted.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let number): return String(number)
        case .double(let number): return "\(number)"
        case .string(let text): return "\"\(text.prefix(40))\""
        default: return value.kindName
        }
    }
}

import EnergyModel
import JSON

extension ShellyParser {
    /// The health figures of a Gen1 `/status`: `uptime`, `temperature` (or `tmp.tC`) and
    /// `wifi_sta.rssi`, where present.
    static func gen1Health(_ json: JSONValue) -> DeviceHealth {
        DeviceHealth(
            uptimeSeconds: json["uptime"]?.number,
            temperatureCelsius: json["temperature"]?.number ?? json["tmp"]?["tC"]?.number,
            wifiRSSI: json["wifi_sta"]?["rssi"]?.number
        )
    }

    /// The health figures of a Gen2+ `Shelly.GetStatus` (bare or in an RPC frame):
    /// `sys.uptime`, `wifi.rssi`, and the metering component's `temperature.tC`.
    static func rpcHealth(_ json: JSONValue, component: MeterComponent) -> DeviceHealth {
        let status = json["result"] ?? json
        return DeviceHealth(
            uptimeSeconds: status["sys"]?["uptime"]?.number,
            temperatureCelsius: status[component.description]?["temperature"]?["tC"]?.number,
            wifiRSSI: status["wifi"]?["rssi"]?.number
        )
    }

    /// The uptime of a Gen2+ `Sys.GetStatus` (bare or in an RPC frame), seconds; nil unless
    /// it is a finite, non-negative number.
    static func sysUptime(_ json: JSONValue) -> Double? {
        guard let uptime = (json["result"] ?? json)["uptime"]?.number, uptime.isFinite, uptime >= 0 else { return nil }
        return uptime
    }

    /// The reading of `component` inside a `Shelly.GetStatus` (bare or in an RPC frame).
    static func componentStatus(inDeviceStatus json: JSONValue, component: MeterComponent) throws(ShellyPayloadError) -> ParsedReading {
        if let rpcError = rpcError(in: json) { throw rpcError }
        let status = json["result"] ?? json
        guard let value = status[component.description] else {
            throw ShellyPayloadError("Shelly.GetStatus: no \(component)", reason: .invalid)
        }
        return try componentStatus(json: value, kind: component.kind)
    }
}

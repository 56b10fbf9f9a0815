/// What a plug says about itself, read at a low rate (about once a minute): which device it
/// is, and how it is doing. Every field is optional: devices report different subsets.
public struct DeviceHealth: Sendable, Equatable {
    /// The model (`SNPL-00112EU`, Gen1 `SHPLG-S`).
    public var model: String?
    /// `gen1`, `gen2`, `gen3`, `gen4`.
    public var generation: String?
    /// The firmware (`20231219-134003/1.1.0-g34b5d4f`).
    public var firmware: String?
    /// Seconds since the device booted.
    public var uptimeSeconds: Double?
    /// The device's internal temperature, °C.
    public var temperatureCelsius: Double?
    /// Wi-Fi signal strength, dBm.
    public var wifiRSSI: Double?

    /// Creates health figures.
    public init(
        model: String? = nil, generation: String? = nil, firmware: String? = nil, uptimeSeconds: Double? = nil,
        temperatureCelsius: Double? = nil, wifiRSSI: Double? = nil
    ) {
        self.model = model
        self.generation = generation
        self.firmware = firmware
        self.uptimeSeconds = uptimeSeconds
        self.temperatureCelsius = temperatureCelsius
        self.wifiRSSI = wifiRSSI
    }
}

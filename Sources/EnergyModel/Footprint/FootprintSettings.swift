/// The top-level `carbon:` and `price:` of the service's configuration, as the service,
/// `energy --config` and `workflow --config` read them.
public struct FootprintSettings: Sendable, Equatable {
    /// Where the grid's carbon intensity comes from; nil: not configured.
    public var carbon: CarbonSource?
    /// The price of a kilowatt-hour; nil: not configured.
    public var tariff: Tariff?

    /// Settings of these parts.
    public init(carbon: CarbonSource? = nil, tariff: Tariff? = nil) {
        self.carbon = carbon
        self.tariff = tariff
    }

    /// Whether neither part is configured.
    public var isEmpty: Bool { carbon == nil && tariff == nil }

    /// The rates to integrate with, the intensity of Electricity Maps taken from `cached`
    /// (what the store's cache holds for the zone).
    public func rates(cached: StepSeries? = nil) -> FootprintRates {
        let intensity: StepSeries? =
            switch carbon {
            case .none: nil
            case .constant(let grams): .constant(grams)
            case .series(let series, _): series
            case .electricityMaps: cached ?? StepSeries(steps: [])
            }
        return FootprintRates(intensity: intensity, tariff: tariff)
    }
}

/// Where the carbon intensity of the grid (grams of CO2-equivalent per kilowatt-hour) comes from.
public enum CarbonSource: Sendable, Equatable {
    /// One figure at all times (`gramsPerKWh: 380`).
    case constant(Double)
    /// A time series read from a CSV file (`file:`), each value in force until the next.
    case series(StepSeries, file: String)
    /// The Electricity Maps API, polled and cached in the store (`electricityMaps:`).
    case electricityMaps(ElectricityMapsSettings)
}

/// How to reach the Electricity Maps API for one zone. The token is sent in the `auth-token`
/// header and appears in no description or log line.
public struct ElectricityMapsSettings: Sendable, Equatable, CustomStringConvertible {
    /// The zone (`DE`, `FR`, `US-CAL-CISO`).
    public var zone: String
    /// The API token, read from `tokenFile`.
    public var token: String
    /// The file the token was read from.
    public var tokenFile: String
    /// The API's base URL, without a trailing slash.
    public var url: String
    /// How often the latest intensity is asked for, milliseconds.
    public var pollMilliseconds: Int64

    /// The public API's base URL.
    public static let defaultURL = "https://api.electricitymap.org"

    /// Settings for `zone`.
    public init(
        zone: String, token: String, tokenFile: String, url: String = ElectricityMapsSettings.defaultURL,
        pollMilliseconds: Int64 = 3_600_000
    ) {
        self.zone = zone
        self.token = token
        self.tokenFile = tokenFile
        self.url = url
        self.pollMilliseconds = pollMilliseconds
    }

    /// Zone, URL and token file; never the token.
    public var description: String { "electricityMaps(zone: \(zone), url: \(url), tokenFile: \(tokenFile))" }
}

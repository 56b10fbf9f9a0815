/// What a window's energy means outside the meter: kilowatt-hours, grams of CO2-equivalent
/// and money. Emissions and cost are nil when nothing is configured for them, or when part of
/// the window with energy has no intensity (or price) in force: a missing figure is left out,
/// never shown as 0.
public struct WindowFootprint: Sendable, Equatable {
    /// Energy, kilowatt-hours.
    public var kwh: Double
    /// Emissions, grams of CO2-equivalent, each piece of energy at the intensity in force.
    public var gramsCO2e: Double?
    /// Cost, each piece of energy at the price in force.
    public var cost: Double?
    /// The currency of `cost`.
    public var currency: String?

    /// A footprint of these figures.
    public init(kwh: Double, gramsCO2e: Double? = nil, cost: Double? = nil, currency: String? = nil) {
        self.kwh = kwh
        self.gramsCO2e = gramsCO2e
        self.cost = cost
        self.currency = currency
    }

    /// Joules in a kilowatt-hour.
    public static let joulesPerKWh = 3_600_000.0

    /// Adds a consecutive window's figures; a figure missing in either is missing in the sum.
    public mutating func merge(_ other: WindowFootprint) {
        kwh += other.kwh
        gramsCO2e = gramsCO2e.flatMap { mine in other.gramsCO2e.map { mine + $0 } }
        cost = cost.flatMap { mine in other.cost.map { mine + $0 } }
        if currency != other.currency { cost = nil }
    }
}

/// The carbon intensity (g CO2e/kWh) and price in force over time, and the integral of a
/// window's energy against them: the window is split at every minute boundary and at every
/// change of intensity, each piece's energy taken from the stored samples and multiplied by
/// the figures in force during it. An average intensity times the total would weigh a
/// night's low intensity as much as a day's high one whatever the load did.
public struct FootprintRates: Sendable, Equatable {
    /// Grams of CO2-equivalent per kilowatt-hour over time; nil when not configured.
    public var intensity: StepSeries?
    /// The price of a kilowatt-hour over time; nil when not configured.
    public var tariff: Tariff?

    /// Rates of these figures.
    public init(intensity: StepSeries? = nil, tariff: Tariff? = nil) {
        self.intensity = intensity
        self.tariff = tariff
    }

    /// Whether neither figure is configured.
    public var isEmpty: Bool { intensity == nil && tariff == nil }

    /// The pieces' bounds for `[from, to)`: `from`, every minute boundary and every change of
    /// intensity inside, and `to`, ascending and distinct. Piece `i` is `[cuts[i], cuts[i+1])`.
    public func cuts(from: Int64, to: Int64) -> [Int64] {
        guard to > from else { return [from] }
        var times: [Int64] = [from]
        var minute = Self.floorDiv(from, 60_000) * 60_000
        let changes = intensity?.changes(after: from, before: to) ?? []
        var next = 0
        while true {
            let (boundary, overflow) = minute.addingReportingOverflow(60_000)
            let limit = overflow ? to : min(boundary, to)
            while next < changes.count, changes[next] < limit {
                if changes[next] > times[times.count - 1] { times.append(changes[next]) }
                next += 1
            }
            if limit > times[times.count - 1] { times.append(limit) }
            if limit >= to { break }
            minute = boundary
        }
        return times
    }

    /// The footprint of the pieces between `cuts` whose energy is `joules` (one entry per
    /// piece, `cuts.count - 1` of them). A piece with energy and no intensity in force makes
    /// the emissions unknown (nil); likewise for the price.
    public func footprint(cuts: [Int64], joules: [Double]) -> WindowFootprint {
        var total = 0.0
        var grams: Double? = intensity == nil ? nil : 0
        let cost: Double? = tariff == nil ? nil : 0
        var money = cost
        for index in joules.indices where index + 1 < cuts.count {
            let energy = joules[index]
            total += energy
            guard energy != 0 else { continue }
            let start = cuts[index]
            if let series = intensity, grams != nil {
                if let value = series.value(at: start) { grams? += energy * value } else { grams = nil }
            }
            if let tariff { money? += energy * tariff.price(at: start) }
        }
        return WindowFootprint(
            kwh: total / WindowFootprint.joulesPerKWh, gramsCO2e: grams.map { $0 / WindowFootprint.joulesPerKWh },
            cost: money.map { $0 / WindowFootprint.joulesPerKWh }, currency: tariff?.currency)
    }

    /// The emissions (grams) and cost of `joules` drawn at `time`: what the running counters
    /// add each tick. Nil where the figure is not configured or not known at `time`.
    public func increment(joules: Double, at time: Int64) -> (grams: Double?, cost: Double?) {
        (
            intensity?.value(at: time).map { joules * $0 / WindowFootprint.joulesPerKWh },
            tariff.map { joules * $0.price(at: time) / WindowFootprint.joulesPerKWh }
        )
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return a % b < 0 ? quotient - 1 : quotient
    }
}

import Synchronization

/// The rates in force as the running service knows them, shared by the ledger that advances
/// the emissions and cost counters, the API and the poller that learns new intensities.
public final class RatesCell: Sendable {
    private let rates: Mutex<FootprintRates>

    /// A cell holding `rates`.
    public init(_ rates: FootprintRates) {
        self.rates = Mutex(rates)
    }

    /// The rates now.
    public var current: FootprintRates {
        rates.withLock { $0 }
    }

    /// Replaces the intensity series (a poller that learned new values).
    public func setIntensity(_ series: StepSeries) {
        rates.withLock { $0.intensity = series }
    }
}

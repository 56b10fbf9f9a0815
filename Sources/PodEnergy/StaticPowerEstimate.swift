/// A node's static power (its draw at zero CPU usage) as `StaticPowerFit` knows it now.
public struct StaticPowerEstimate: Sendable, Equatable {
    /// Where an estimate comes from.
    public enum Source: String, Sendable, CaseIterable {
        /// The operator's configured figure, which wins over any fit.
        case override
        /// The intercept of the fit of plug power against node CPU usage.
        case fitted
        /// The starting figure, until the fit has enough samples over enough spread of usage.
        case starting
        /// Nothing: no override, no fit yet and no starting figure.
        case none
    }

    /// Static power, watts; nil for `.none`.
    public var staticWatts: Double?
    /// The fit's slope at zero usage, watts per core (≥ 0); nil unless `.fitted`.
    public var wattsPerCore: Double?
    /// Samples in the fit's window.
    public var samples: Int
    /// Root mean square of the fit's residuals, watts; nil unless `.fitted`.
    public var rmsErrorWatts: Double?
    /// Where `staticWatts` comes from.
    public var source: Source

    /// An estimate as `StaticPowerFit` makes it.
    public init(staticWatts: Double?, wattsPerCore: Double?, samples: Int, rmsErrorWatts: Double?, source: Source) {
        self.staticWatts = staticWatts
        self.wattsPerCore = wattsPerCore
        self.samples = samples
        self.rmsErrorWatts = rmsErrorWatts
        self.source = source
    }
}

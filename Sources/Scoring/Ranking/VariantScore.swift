/// Every figure of scoring one variant (knowledge-base entry) for one node, named after the
/// columns of the thesis log (`Job;Node;Variant;Weight;LiveIdle;Marginal;PredTotal;RawPerf;
/// RawEff;NormPerf;NormEff;FinalScore`).
public struct VariantScore: Sendable, Hashable {
    /// `Node`: the node scored.
    public let node: String
    /// `Variant`: the entry's `nodeName`.
    public let variant: String
    /// `Weight`: between energy (0) and performance (1).
    public let weight: Double
    /// `LiveIdle`: the node's fresh live watts, or the entry's idle watts when there is no
    /// fresh reading (the thesis plugin starts from idle and overwrites it with a live value).
    public let liveIdleWatts: Double
    /// Whether ``liveIdleWatts`` is a measurement (true) or the knowledge-base idle power.
    public let isLiveMeasured: Bool
    /// `Marginal`: power minus idle of the entry, 1 when not positive.
    public let marginalWatts: Double
    /// `PredTotal`: projected node power with the workload: live + marginal, or the entry's
    /// load power when there is no live value.
    public let predictedTotalWatts: Double
    /// The load penalty factor in (0, 1]: below 1 when the node already draws clearly more
    /// than idle, i.e. is busy with other work.
    public let penalty: Double
    /// `RawPerf`: performance rate times penalty.
    public let rawPerformance: Double
    /// `RawEff`: raw performance per projected watt.
    public let rawEfficiency: Double
    /// `NormPerf`: raw performance as a percentage of the profile's best, capped at 100.
    public let normalizedPerformance: Double
    /// `NormEff`: raw efficiency as a percentage of the profile's best benchmark efficiency, capped at 100.
    public let normalizedEfficiency: Double
    /// The weighted score before truncation.
    public let score: Double
    /// `FinalScore`: ``score`` truncated to an integer in 0...100.
    public let finalScore: Int

    /// Creates the figures; ``EnergyScorer`` is the usual source.
    public init(
        node: String,
        variant: String,
        weight: Double,
        liveIdleWatts: Double,
        isLiveMeasured: Bool,
        marginalWatts: Double,
        predictedTotalWatts: Double,
        penalty: Double,
        rawPerformance: Double,
        rawEfficiency: Double,
        normalizedPerformance: Double,
        normalizedEfficiency: Double,
        score: Double,
        finalScore: Int
    ) {
        self.node = node
        self.variant = variant
        self.weight = weight
        self.liveIdleWatts = liveIdleWatts
        self.isLiveMeasured = isLiveMeasured
        self.marginalWatts = marginalWatts
        self.predictedTotalWatts = predictedTotalWatts
        self.penalty = penalty
        self.rawPerformance = rawPerformance
        self.rawEfficiency = rawEfficiency
        self.normalizedPerformance = normalizedPerformance
        self.normalizedEfficiency = normalizedEfficiency
        self.score = score
        self.finalScore = finalScore
    }
}

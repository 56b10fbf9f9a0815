import EnergyModel

/// The scoring formula of the thesis plugin `EnergyScorer`, figure for figure.
///
/// For a profile with `maxP` = best performance and `maxE` = best performance per watt over
/// all its entries, each entry whose `nodeName` contains the node name is a variant scored as
///
/// ```
/// delta    = power - idle                  (1 if <= 0)
/// live     = fresh current-watts, else idle (then P_proj = power)
/// P_proj   = live + delta
/// penalty  = 1 / (1 + 0.5 * max(0, (live - idle) / delta))  if live > max(1.2 * idle, idle + 2), else 1
/// perf     = performanceRate * penalty
/// eff      = perf / max(P_proj, 1)
/// normPerf = min(100, 100 * perf / maxP);  normEff = min(100, 100 * eff / maxE)
/// score    = w * normPerf + (1 - w) * normEff
/// ```
///
/// and the node takes its best variant's score truncated to an integer. The operations run in
/// the plugin's order so that the floating-point results, and with them the truncated scores,
/// agree with its 284 logged decisions.
public struct EnergyScorer: Sendable {
    /// Creates a scorer.
    public init() {}

    /// Scores every node for `profile` at `weight` (clamped to 0...1).
    ///
    /// Nodes without a variant score 0 and are reported as ``ScoringDiagnostic/Reason/unmatchedNode``;
    /// entries that serve none (or several) of the given nodes are reported too, as are missing,
    /// stale and invalid power readings.
    public func score(profile: Profile, weight: Double, nodes: [NodeSnapshot], job: String? = nil) -> ScoringResult {
        let weight = weight.isNaN ? PodPolicy.defaultWeight : min(1, max(0, weight))
        var diagnostics: [ScoringDiagnostic] = []
        // Which of the given nodes each entry serves, gathered from the nodes' variants: one
        // pass over the nodes, not one over every node for every entry.
        var served = [[String]](repeating: [], count: profile.entries.count)
        let scores = nodes.map { node -> NodeScore in
            diagnostics += powerDiagnostics(node)
            let indices = profile.variantIndices(of: node.name)
            for index in indices { served[index].append(node.name) }
            let variants = indices.map {
                scoreVariant(
                    profile.entries[$0], of: profile, node: node.name, weight: weight, liveWatts: node.power.usableWatts
                )
            }
            if variants.isEmpty {
                diagnostics.append(
                    ScoringDiagnostic(
                        reason: .unmatchedNode,
                        node: node.name,
                        profile: profile.name,
                        message: "no entry of profile \"\(profile.name)\" serves node \"\(node.name)\" "
                            + "(entries: \(KnowledgeBase.names(profile.entries.map(\.nodeName)))); it scores 0"
                    )
                )
            }
            return NodeScore(node: node.name, variants: variants)
        }
        let names = nodes.map(\.name)
        for (index, entry) in profile.entries.enumerated() {
            diagnostics += KnowledgeBase.entryDiagnostics(
                entry, profile: profile.name, served: served[index], nodeNames: names)
        }
        return ScoringResult(job: job, profile: profile.name, weight: weight, nodes: scores, diagnostics: diagnostics)
    }

    /// Scores one variant; `liveWatts` is the node's fresh reading, nil when there is none.
    public func scoreVariant(
        _ entry: ProfileEntry,
        of profile: Profile,
        node: String,
        weight: Double,
        liveWatts: Double?
    ) -> VariantScore {
        let idle = entry.idlePowerWatts
        let delta = entry.marginalWatts
        let live = liveWatts ?? idle
        // Without a live value the projection is the benchmarked load power itself.
        let projected = liveWatts.map { $0 + delta } ?? entry.powerConsumptionWatts
        var penalty = 1.0
        if live > max(1.2 * idle, idle + 2) {
            penalty = 1 / (1 + 0.5 * max(0, (live - idle) / delta))
        }
        let performance = entry.performanceRate * penalty
        let efficiency = performance / max(projected, 1)
        let normalizedPerformance = min(100, 100 * performance / profile.maxPerformance)
        let normalizedEfficiency = min(100, 100 * efficiency / profile.maxEfficiency)
        let score = weight * normalizedPerformance + (1 - weight) * normalizedEfficiency
        return VariantScore(
            node: node,
            variant: entry.nodeName,
            weight: weight,
            liveIdleWatts: live,
            isLiveMeasured: liveWatts != nil,
            marginalWatts: delta,
            predictedTotalWatts: projected,
            penalty: penalty,
            rawPerformance: performance,
            rawEfficiency: efficiency,
            normalizedPerformance: normalizedPerformance,
            normalizedEfficiency: normalizedEfficiency,
            score: score,
            finalScore: Self.truncate(score)
        )
    }

    /// Truncates toward zero into 0...100 like Go's `int64(score)`; the clamp only guards
    /// against inputs the knowledge-base validation already rules out.
    static func truncate(_ score: Double) -> Int {
        guard score.isFinite else { return 0 }
        return Int(clampingRounding: min(100, max(0, score)), .towardZero)
    }

    private func powerDiagnostics(_ node: NodeSnapshot) -> [ScoringDiagnostic] {
        switch node.power {
        case .fresh:
            return []
        case .absent:
            return [
                ScoringDiagnostic(
                    reason: .powerMissing,
                    node: node.name,
                    message: "node \"\(node.name)\" has no power annotations; using knowledge-base idle power"
                )
            ]
        case .stale(let watts, let age):
            return [
                ScoringDiagnostic(
                    reason: .powerStale,
                    node: node.name,
                    message:
                        "power of node \"\(node.name)\" (\(watts) W) is \(Int(clampingRounding: age, .towardZero)) s old; "
                        + "using knowledge-base idle power"
                )
            ]
        case .invalid(let reason):
            return [
                ScoringDiagnostic(
                    reason: .powerInvalid,
                    node: node.name,
                    message: "node \"\(node.name)\": \(reason); using knowledge-base idle power"
                )
            ]
        }
    }
}

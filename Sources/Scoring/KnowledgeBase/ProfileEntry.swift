/// One benchmark result of the knowledge base: how fast and how power-hungry one hardware
/// variant of a node runs the workloads of one profile.
///
/// The `nodeName` names a *variant* (`tvpc-cpu`, `tvpc-gpu`), not a node: a node `n` is served
/// by every entry whose `nodeName` contains `n`, exactly like the thesis plugin's
/// `strings.Contains(entry.NodeName, nodeName)`.
public struct ProfileEntry: Sendable, Hashable, Codable {
    /// The variant name; it serves every node whose name it contains.
    public var nodeName: String
    /// Benchmark throughput in the profile's unit (iterations per minute, hashes per ms, ...).
    public var performanceRate: Double
    /// Whole-node power in watts while running the benchmark.
    public var powerConsumptionWatts: Double
    /// Whole-node power in watts while idle.
    public var idlePowerWatts: Double

    /// Creates an entry from its four knowledge-base fields.
    public init(nodeName: String, performanceRate: Double, powerConsumptionWatts: Double, idlePowerWatts: Double) {
        self.nodeName = nodeName
        self.performanceRate = performanceRate
        self.powerConsumptionWatts = powerConsumptionWatts
        self.idlePowerWatts = idlePowerWatts
    }

    /// Whether this entry is a variant of the node called `node`.
    ///
    /// Byte-wise substring search on UTF-8, because that is what Go's `strings.Contains` does;
    /// Swift's `String.contains` would compare by grapheme clusters and could disagree on
    /// unusual names. An empty node name matches nothing (Kubernetes never produces one, and
    /// "matches every entry" would be a surprising way to score it).
    public func serves(node: String) -> Bool {
        VariantIndex.contains(Array(nodeName.utf8), Array(node.utf8))
    }

    /// Benchmark efficiency used for the profile-wide normalisation: performance per watt,
    /// with a non-positive power counted as 1 W (the thesis plugin's guard against division by 0).
    public var benchmarkEfficiency: Double {
        performanceRate / (powerConsumptionWatts > 0 ? powerConsumptionWatts : 1)
    }

    /// The extra watts the workload adds on top of idle; 1 when the entry claims no increase,
    /// so the projection and the load penalty never divide by zero.
    public var marginalWatts: Double {
        let delta = powerConsumptionWatts - idlePowerWatts
        return delta <= 0 ? 1 : delta
    }
}

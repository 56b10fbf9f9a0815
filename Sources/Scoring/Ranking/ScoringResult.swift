/// The ranking of a set of nodes for one profile and weight, with every figure and every
/// problem met on the way.
public struct ScoringResult: Sendable, Hashable {
    /// The pod or job the ranking was for, when known (the `Job` column of the thesis log).
    public let job: String?
    /// The profile scored with.
    public let profile: String
    /// The weight used, in 0...1.
    public let weight: Double
    /// One result per node, in the order the nodes were given.
    public let nodes: [NodeScore]
    /// Everything reported instead of silently scored (drifted names, stale power, ...).
    public let diagnostics: [ScoringDiagnostic]

    /// Creates a result; ``EnergyScorer`` is the usual source.
    public init(job: String?, profile: String, weight: Double, nodes: [NodeScore], diagnostics: [ScoringDiagnostic]) {
        self.job = job
        self.profile = profile
        self.weight = weight
        self.nodes = nodes
        self.diagnostics = diagnostics
    }

    /// The result for `node`, if it was scored.
    public func score(for node: String) -> NodeScore? {
        nodes.first { $0.node == node }
    }

    /// The nodes from best to worst (stable for equal scores).
    public var ranked: [NodeScore] {
        nodes.enumerated()
            .sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }
            .map(\.element)
    }
}

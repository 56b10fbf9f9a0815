/// A named workload profile (`training`, `inference`, ...) with its benchmark entries.
public struct Profile: Sendable, Hashable {
    /// The profile name as pods give it in the `workload-profile` label.
    public let name: String
    /// The entries in knowledge-base order (the order decides ties between variants).
    public let entries: [ProfileEntry]

    /// Creates a profile. Validation happens in ``KnowledgeBase``; this initialiser accepts
    /// whatever it is given so tests and tools can build profiles directly.
    public init(name: String, entries: [ProfileEntry]) {
        self.name = name
        self.entries = entries
    }

    /// `maxP`: the best performance over *all* entries of the profile (not only the nodes
    /// being scored, so a score does not depend on which nodes the scheduler asked about);
    /// 1 when the maximum is 0.
    public var maxPerformance: Double {
        let best = entries.map(\.performanceRate).max() ?? 0
        return best == 0 ? 1 : best
    }

    /// `maxE`: the best benchmark efficiency over all entries; 1 when the maximum is 0.
    public var maxEfficiency: Double {
        let best = entries.map(\.benchmarkEfficiency).max() ?? 0
        return best == 0 ? 1 : best
    }

    /// The entries that are variants of `node`, in knowledge-base order.
    public func variants(of node: String) -> [ProfileEntry] {
        entries.filter { $0.serves(node: node) }
    }
}

/// A named workload profile (`training`, `inference`, ...) with its benchmark entries.
public struct Profile: Sendable, Hashable {
    /// The profile name as pods give it in the `workload-profile` label.
    public let name: String
    /// The entries in knowledge-base order (the order decides ties between variants).
    public let entries: [ProfileEntry]
    /// `maxP`: the best performance over *all* entries of the profile (not only the nodes
    /// being scored, so a score does not depend on which nodes the scheduler asked about);
    /// 1 when the maximum is 0.
    public let maxPerformance: Double
    /// `maxE`: the best benchmark efficiency over all entries; 1 when the maximum is 0.
    public let maxEfficiency: Double
    private let index: VariantIndex

    /// Creates a profile. Validation happens in ``KnowledgeBase``; this initialiser accepts
    /// whatever it is given so tests and tools can build profiles directly.
    public init(name: String, entries: [ProfileEntry]) {
        self.name = name
        self.entries = entries
        // Computed once: every variant of every node of every call is normalised by them.
        let bestPerformance = entries.map(\.performanceRate).max() ?? 0
        maxPerformance = bestPerformance == 0 ? 1 : bestPerformance
        let bestEfficiency = entries.map(\.benchmarkEfficiency).max() ?? 0
        maxEfficiency = bestEfficiency == 0 ? 1 : bestEfficiency
        index = VariantIndex(entries.map(\.nodeName))
    }

    /// Profiles are equal when their names and entries are.
    public static func == (lhs: Profile, rhs: Profile) -> Bool {
        lhs.name == rhs.name && lhs.entries == rhs.entries
    }

    /// Hashes the name and the entries.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(entries)
    }

    /// The entries that are variants of `node`, in knowledge-base order.
    public func variants(of node: String) -> [ProfileEntry] {
        index.indices(of: node).map { entries[$0] }
    }

    /// The positions in ``entries`` of the variants of `node`.
    func variantIndices(of node: String) -> [Int] {
        index.indices(of: node)
    }
}

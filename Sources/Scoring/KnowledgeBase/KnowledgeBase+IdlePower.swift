extension KnowledgeBase {
    /// Each node's lowest `idlePowerWatts` over the entries that serve it (an entry serves the
    /// nodes its `nodeName` contains, as in scoring): what the node draws at rest, by the
    /// benchmarks. Nodes no entry serves, and negative or non-finite figures, are left out.
    public func lowestIdleWatts(nodes: [String]) -> [String: Double] {
        var lowest: [String: Double] = [:]
        for profile in profiles {
            for entry in profile.entries where entry.idlePowerWatts.isFinite && entry.idlePowerWatts >= 0 {
                for node in nodes where entry.serves(node: node) {
                    lowest[node] = min(lowest[node] ?? .infinity, entry.idlePowerWatts)
                }
            }
        }
        return lowest
    }
}

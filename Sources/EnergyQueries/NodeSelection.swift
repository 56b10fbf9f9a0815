import EnergyModel

/// The `node` parameter of a query: comma-separated names, each one the answering side knows.
public enum NodeSelection {
    /// The names of `text` in the order given, each once; every node of `known` when `text`
    /// is absent or empty.
    public static func nodes(_ text: String?, known: [String]) throws(QueryError) -> [String] {
        guard let text, !text.isEmpty else { return known }
        var names: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(part).trimmingSpaces()
            guard !name.isEmpty else { throw QueryError(.node, "empty name in \"\(text)\"") }
            guard known.contains(name) else {
                let list = known.isEmpty ? "none" : known.joined(separator: ", ")
                throw QueryError(.node, "unknown node \"\(name)\" (known: \(list))")
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}

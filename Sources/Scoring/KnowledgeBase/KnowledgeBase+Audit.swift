extension KnowledgeBase {
    /// Compares the knowledge base with the nodes of a cluster and reports name drift in both
    /// directions: entries that serve none of `nodeNames` or several of them, and nodes that
    /// some profile has no entry for.
    ///
    /// Scoring reports the same for the nodes of one request; this is for callers that know
    /// the whole cluster (a startup check, a periodic audit) and want one report per drift
    /// rather than one per scheduled pod.
    public func audit(nodeNames: [String]) -> [ScoringDiagnostic] {
        var diagnostics: [ScoringDiagnostic] = []
        for profile in profiles {
            // One pass over the nodes finds what every entry serves.
            var served = [[String]](repeating: [], count: profile.entries.count)
            var unserved: [String] = []
            for node in nodeNames {
                let indices = profile.variantIndices(of: node)
                if indices.isEmpty { unserved.append(node) }
                for index in indices { served[index].append(node) }
            }
            for (index, entry) in profile.entries.enumerated() {
                diagnostics += Self.entryDiagnostics(
                    entry, profile: profile.name, served: served[index], nodeNames: nodeNames)
            }
            for node in unserved {
                diagnostics.append(
                    ScoringDiagnostic(
                        reason: .unmatchedNode,
                        node: node,
                        profile: profile.name,
                        message: "no entry of profile \"\(profile.name)\" serves node \"\(node)\""
                    )
                )
            }
        }
        return diagnostics
    }

    /// The diagnostics for one entry against a set of node names: none when it serves exactly one.
    static func entryDiagnostics(_ entry: ProfileEntry, profile: String, nodeNames: [String]) -> [ScoringDiagnostic] {
        entryDiagnostics(
            entry, profile: profile, served: nodeNames.filter { entry.serves(node: $0) }, nodeNames: nodeNames)
    }

    /// The diagnostics for one entry that serves `served` of `nodeNames`.
    static func entryDiagnostics(_ entry: ProfileEntry, profile: String, served: [String], nodeNames: [String])
        -> [ScoringDiagnostic]
    {
        if served.isEmpty {
            return [
                ScoringDiagnostic(
                    reason: .unmatchedEntry,
                    entry: entry.nodeName,
                    profile: profile,
                    message: "entry \"\(entry.nodeName)\" of profile \"\(profile)\" serves none of the nodes "
                        + "(\(names(nodeNames)))"
                )
            ]
        }
        if served.count > 1 {
            return [
                ScoringDiagnostic(
                    reason: .ambiguousEntry,
                    entry: entry.nodeName,
                    profile: profile,
                    message: "entry \"\(entry.nodeName)\" of profile \"\(profile)\" serves several nodes "
                        + "(\(names(served))) and counts as a variant of each"
                )
            ]
        }
        return []
    }

    /// Names for a message: all of up to 10, else the first 10 and how many more (a line
    /// about a cluster of 5,000 nodes must stay a line).
    static func names(_ list: [String]) -> String {
        list.count <= 10
            ? list.joined(separator: ", ") : list.prefix(10).joined(separator: ", ") + " and \(list.count - 10) more"
    }
}

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
            for entry in profile.entries {
                diagnostics += Self.entryDiagnostics(entry, profile: profile.name, nodeNames: nodeNames)
            }
            for node in nodeNames where profile.variants(of: node).isEmpty {
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
        let served = nodeNames.filter { entry.serves(node: $0) }
        if served.isEmpty {
            return [
                ScoringDiagnostic(
                    reason: .unmatchedEntry,
                    entry: entry.nodeName,
                    profile: profile,
                    message: "entry \"\(entry.nodeName)\" of profile \"\(profile)\" serves none of the nodes "
                        + "(\(nodeNames.joined(separator: ", ")))"
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
                        + "(\(served.joined(separator: ", "))) and counts as a variant of each"
                )
            ]
        }
        return []
    }
}

import Logging

/// Something a scoring decision had to work around, reported instead of silently scored:
/// a node no knowledge-base entry serves, an entry that serves no node, a stale or unreadable
/// power annotation, an unusable weight.
///
/// Callers count them into a metric by ``reason`` (its raw value is a stable label value) and
/// show ``message`` to people.
public struct ScoringDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem. Raw values are stable metric label values; never rename them.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// A node to be scored that no entry of the pod's profile serves (its name drifted from
        /// the knowledge base, or the profile lacks it); it scores 0 and fails the filter.
        case unmatchedNode = "unmatched_node"
        /// A knowledge-base entry whose `nodeName` contains none of the nodes considered.
        case unmatchedEntry = "unmatched_entry"
        /// A knowledge-base entry whose `nodeName` contains several node names, so it counts as
        /// a variant of each (`strings.Contains` semantics make `pc` match `tvpc-cpu`).
        case ambiguousEntry = "ambiguous_entry"
        /// The node has no power annotations; the knowledge-base idle power stands in.
        case powerMissing = "power_missing"
        /// The node's power annotation is 30 s old or older; the knowledge-base idle power stands in.
        case powerStale = "power_stale"
        /// The node's power annotations cannot be read (not a number, negative, far future, ...).
        case powerInvalid = "power_invalid"
        /// The pod's weight annotation is not a number; the default weight applies.
        case weightInvalid = "weight_invalid"
        /// The pod's weight lies outside 0...1 and was clamped.
        case weightOutOfRange = "weight_out_of_range"
        /// The pod opts in but names no profile; every node gets the neutral score.
        case profileMissing = "profile_missing"
        /// The pod names a profile the knowledge base does not have; every node gets the neutral score.
        case profileUnknown = "profile_unknown"
        /// A `NodeNames` request (`nodeCacheCapable: true`) named a node the extender's own
        /// node view does not have (the view is off, not synced yet, or the node is new); it is
        /// scored from the knowledge base alone, as if its plug were down.
        case nodeNotInView = "node_not_in_view"

        /// How loudly the condition is logged: configuration drift is a warning, a plug that
        /// is merely down is routine.
        public var logLevel: Logger.Level {
            switch self {
            case .unmatchedNode, .unmatchedEntry, .ambiguousEntry, .powerInvalid, .weightInvalid,
                .profileUnknown, .profileMissing, .nodeNotInView:
                return .warning
            case .powerStale, .weightOutOfRange:
                return .notice
            case .powerMissing:
                return .info
            }
        }
    }

    /// The kind of problem; `reason.rawValue` is the metric label value.
    public let reason: Reason
    /// The node concerned, if any.
    public let node: String?
    /// The knowledge-base entry (`nodeName`) concerned, if any.
    public let entry: String?
    /// The workload profile concerned, if any.
    public let profile: String?
    /// The pod concerned, if known.
    public let pod: String?
    /// One human-readable line explaining the problem and what was done about it.
    public let message: String

    /// Creates a diagnostic.
    public init(
        reason: Reason,
        node: String? = nil,
        entry: String? = nil,
        profile: String? = nil,
        pod: String? = nil,
        message: String
    ) {
        self.reason = reason
        self.node = node
        self.entry = entry
        self.profile = profile
        self.pod = pod
        self.message = message
    }

    /// `reason: message`.
    public var description: String { "\(reason.rawValue): \(message)" }

    /// The same diagnostic attributed to `pod`.
    public func forPod(_ pod: String?) -> ScoringDiagnostic {
        ScoringDiagnostic(reason: reason, node: node, entry: entry, profile: profile, pod: pod, message: message)
    }

    /// Logs the diagnostic at its reason's level, with the facts as metadata.
    public func log(to logger: Logger) {
        var metadata: Logger.Metadata = ["reason": .string(reason.rawValue)]
        if let node { metadata["node"] = .string(node) }
        if let entry { metadata["entry"] = .string(entry) }
        if let profile { metadata["profile"] = .string(profile) }
        if let pod { metadata["pod"] = .string(pod) }
        logger.log(level: reason.logLevel, "\(message)", metadata: metadata)
    }
}

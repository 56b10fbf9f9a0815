/// One share of a node's measured energy in part of a minute, as the per-pod attribution
/// writes it into `pod_minute`: a pod's, the node's `system` share (CPU use no pod accounts
/// for) or its `idle` share (static power no pod was given). Rows of the same node, minute
/// and share add up.
public struct PodMinuteRow: Sendable, Equatable {
    /// Whose share it is.
    public enum Kind: String, Sendable, CaseIterable {
        /// A pod's share.
        case pod
        /// CPU use of the node that no pod accounts for.
        case system
        /// Static power that no pod was given.
        case idle
    }

    /// The node.
    public var node: String
    /// Whose share.
    public var kind: Kind
    /// The pod's namespace, name and uid (empty for `system` and `idle`).
    public var namespace: String
    /// The pod's name.
    public var pod: String
    /// The pod's uid.
    public var uid: String
    /// Start and end of the attributed part (unix milliseconds), within one minute.
    public var fromMilliseconds: Int64
    /// End, exclusive.
    public var toMilliseconds: Int64
    /// CPU seconds the share used in it.
    public var cpuSeconds: Double
    /// Energy of the node's dynamic power given to it, joules.
    public var dynamicJoules: Double
    /// Energy of the node's static power given to it, joules.
    public var staticJoules: Double
    /// Milliseconds of the part that the plug's samples cover.
    public var coveredMilliseconds: Int64

    /// Creates a row.
    public init(
        node: String, kind: Kind, namespace: String = "", pod: String = "", uid: String = "",
        fromMilliseconds: Int64, toMilliseconds: Int64, cpuSeconds: Double, dynamicJoules: Double,
        staticJoules: Double, coveredMilliseconds: Int64
    ) {
        self.node = node
        self.kind = kind
        self.namespace = namespace
        self.pod = pod
        self.uid = uid
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.cpuSeconds = cpuSeconds
        self.dynamicJoules = dynamicJoules
        self.staticJoules = staticJoules
        self.coveredMilliseconds = coveredMilliseconds
    }

    /// Dynamic plus static joules.
    public var joules: Double { dynamicJoules + staticJoules }
}

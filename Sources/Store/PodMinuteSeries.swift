/// One node's attributed energy per step of whole minutes, share by share, as the dashboard
/// stacks it: the node's biggest pods of the window one by one, the rest summed as "other
/// pods", and the node's `system` and `idle` shares. However many pods ran on the node, an
/// answer holds at most `maxPods + 3` shares per step.
public struct PodMinuteSeries: Sendable, Equatable {
    /// Whose energy a column holds.
    public enum Kind: String, Sendable, CaseIterable {
        /// One pod (all its uids: a pod recreated under the same name is one share).
        case pod
        /// Every pod of the node not among its biggest, summed.
        case otherPods = "other"
        /// CPU use of the node that no pod accounts for.
        case system
        /// Static power that no pod was given.
        case idle
    }

    /// One column of the series.
    public struct Share: Sendable, Equatable {
        /// Whose share.
        public var kind: Kind
        /// The pod's namespace (empty unless `kind` is `pod`).
        public var namespace: String
        /// The pod's name (empty unless `kind` is `pod`).
        public var pod: String
        /// The share's joules over the whole window.
        public var joules: Double
        /// How many pods the share holds: 1 for a pod, the number summed for `other`, 0 for
        /// `system` and `idle`.
        public var pods: Int

        /// Creates a share.
        public init(kind: Kind, namespace: String = "", pod: String = "", joules: Double, pods: Int) {
            self.kind = kind
            self.namespace = namespace
            self.pod = pod
            self.joules = joules
            self.pods = pods
        }
    }

    /// The shares of one step, in the order of `shares`.
    public struct Step: Sendable, Equatable {
        /// Start of the step, unix milliseconds (a multiple of the step).
        public var startMilliseconds: Int64
        /// Milliseconds of the step the attribution covered with the plug's samples behind them:
        /// the denominator that turns every share's joules into the node's average watts.
        public var coveredMilliseconds: Int64
        /// Joules of each share; 0 where a share has no row in the step.
        public var joules: [Double]
        /// Milliseconds each share was attributed in the step (a pod that started mid-step
        /// has fewer than the node).
        public var shareCoveredMilliseconds: [Int64]
    }

    /// Width of a step, milliseconds (a whole number of minutes).
    public var stepMilliseconds: Int64
    /// The columns: pods by namespace and name, then `other`, `system` and `idle`, each only
    /// when it has energy rows in the window.
    public var shares: [Share]
    /// Steps with attributed energy, oldest first; steps without rows are left out.
    public var steps: [Step]
}

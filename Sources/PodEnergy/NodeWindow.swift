/// What is known about one node over one metrics window: the energy the plug measured, the
/// node's static power, and the CPU usage of the node and of its pods.
public struct NodeWindow: Sendable, Equatable {
    /// The node's name.
    public var node: String
    /// Start of the window, Unix milliseconds.
    public var fromMilliseconds: Int64
    /// End of the window, Unix milliseconds (after `fromMilliseconds`).
    public var toMilliseconds: Int64
    /// Energy the plug measured over the covered part of the window, joules.
    public var measuredJoules: Double
    /// How much of the window the plug's samples cover, milliseconds (at most its length).
    public var coveredMilliseconds: Int64
    /// The node's static power (its draw at zero CPU usage), watts.
    public var staticWatts: Double
    /// The node's mean CPU usage over the window in cores; nil when there is none, which
    /// leaves the window unattributed.
    public var nodeCPUCores: Double?
    /// The node's allocatable CPU, cores (the denominator of the `requests` policy).
    public var allocatableCores: Double
    /// The pods on the node during the window.
    public var pods: [PodUsage]

    /// A window as the caller assembled it; `attribute` reads out-of-range values safely.
    public init(
        node: String, fromMilliseconds: Int64, toMilliseconds: Int64, measuredJoules: Double,
        coveredMilliseconds: Int64, staticWatts: Double, nodeCPUCores: Double?, allocatableCores: Double,
        pods: [PodUsage]
    ) {
        self.node = node
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.measuredJoules = measuredJoules
        self.coveredMilliseconds = coveredMilliseconds
        self.staticWatts = staticWatts
        self.nodeCPUCores = nodeCPUCores
        self.allocatableCores = allocatableCores
        self.pods = pods
    }
}

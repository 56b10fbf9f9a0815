/// One pod on a node over one metrics window: who it is and the CPU it used and asked for.
public struct PodUsage: Sendable, Equatable {
    /// The pod's namespace.
    public var namespace: String
    /// The pod's name.
    public var name: String
    /// The pod's UID, which tells apart pods that reuse a name.
    public var uid: String
    /// Mean CPU usage over the window in cores, from the metrics API; nil when there is no
    /// figure for this window. Non-finite or negative values are read as nil.
    public var cpuCores: Double?
    /// The sum of the pod's containers' CPU requests, in cores (0 when none is set).
    public var requestCores: Double
    /// Whether the pod was running during the window (only running pods share static power).
    public var running: Bool

    /// A pod's usage as the caller read it.
    public init(namespace: String, name: String, uid: String, cpuCores: Double?, requestCores: Double, running: Bool) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.cpuCores = cpuCores
        self.requestCores = requestCores
        self.running = running
    }
}

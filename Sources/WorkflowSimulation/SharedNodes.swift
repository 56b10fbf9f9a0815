/// How the offline cluster simulates nodes that pods share, for per-pod energy: a
/// metrics-server serving the pods' CPU load, each node drawing a static power the knowledge
/// base does not state exactly, a dynamic power per core of CPU load, a small load no pod
/// accounts for, and background pods beside the workflow's phases.
///
/// A phase's pod loads its node's CPU with (entry power − entry idle) / `wattsPerCore`
/// cores, so its dynamic power is what the knowledge base says; a background pod with its
/// cores, drawing `wattsPerCore` per core; the system load with `systemCores`. The plug reads
/// static plus `wattsPerCore` times the node's whole CPU load: a pod's true energy is
/// `wattsPerCore` times its CPU seconds.
public struct SharedNodes: Sendable, Equatable {
    /// The true static power is the knowledge base's idle power times this (1: as stated).
    public var staticFactor: Double
    /// Watts per core of CPU load.
    public var wattsPerCore: Double
    /// CPU load no pod accounts for (kubelet, runtime, OS), cores per node.
    public var systemCores: Double
    /// Background pods: node and cores, one pod each, running from the start.
    public var background: [(node: String, cores: Double)]
    /// metrics-server's resolution (its windows), milliseconds.
    public var metricsResolutionMilliseconds: Int64
    /// How the monitor shares static power among pods.
    public var staticPower: String

    /// Creates settings: static power 20 % above the knowledge base's, 10 W per core, 0.1
    /// cores of system load, 15 s windows.
    public init(
        staticFactor: Double = 1.2, wattsPerCore: Double = 10, systemCores: Double = 0.1,
        background: [(node: String, cores: Double)] = [], metricsResolutionMilliseconds: Int64 = 15_000,
        staticPower: String = "requests"
    ) {
        self.staticFactor = staticFactor
        self.wattsPerCore = wattsPerCore
        self.systemCores = systemCores
        self.background = background
        self.metricsResolutionMilliseconds = metricsResolutionMilliseconds
        self.staticPower = staticPower
    }

    public static func == (lhs: SharedNodes, rhs: SharedNodes) -> Bool {
        lhs.staticFactor == rhs.staticFactor && lhs.wattsPerCore == rhs.wattsPerCore
            && lhs.systemCores == rhs.systemCores && lhs.background.map(\.node) == rhs.background.map(\.node)
            && lhs.background.map(\.cores) == rhs.background.map(\.cores)
            && lhs.metricsResolutionMilliseconds == rhs.metricsResolutionMilliseconds
            && lhs.staticPower == rhs.staticPower
    }

    /// The namespace of the background pods.
    public static let backgroundNamespace = "background"
    /// The label naming a background pod's node.
    public static let backgroundNodeLabel = "energy-monitor.io/background-node"
    /// The label giving a background pod's cores.
    public static let backgroundCoresLabel = "energy-monitor.io/background-cores"
}

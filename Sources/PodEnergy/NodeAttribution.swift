/// A node's measured energy over one window, split among its pods, the system and idle.
///
/// The parts add up to `measuredJoules`: Σ pods' `joules` + `systemJoules` + `idleJoules`.
public struct NodeAttribution: Sendable, Equatable {
    /// The node's name.
    public var node: String
    /// Start of the window, Unix milliseconds.
    public var fromMilliseconds: Int64
    /// End of the window, Unix milliseconds.
    public var toMilliseconds: Int64
    /// The pods' shares, in the order of the window's pods; empty when not `attributed`.
    public var pods: [PodShare]
    /// Dynamic energy of CPU usage no pod accounts for (kubelet, container runtime, the
    /// operating system), joules; all dynamic energy when not `attributed`.
    public var systemJoules: Double
    /// Static energy given to no pod, joules.
    public var idleJoules: Double
    /// The static part of the measured energy (static power over the covered time, at most
    /// what was measured), joules.
    public var staticJoules: Double
    /// The rest of the measured energy, joules.
    public var dynamicJoules: Double
    /// The measured energy that was split, joules (0 when the window's figure was unusable:
    /// negative or not finite).
    public var measuredJoules: Double
    /// How much of the window the plug's samples cover, milliseconds.
    public var coveredMilliseconds: Int64
    /// Covered time over the window's length, 0...1 (0 for an empty window).
    public var coverage: Double
    /// False when the node had no CPU figure for the window: pods then get nothing (a gap,
    /// never a guess), the static part is idle and the dynamic part is the system's.
    public var attributed: Bool

    /// An attribution as `PodAttribution` computes it.
    public init(
        node: String, fromMilliseconds: Int64, toMilliseconds: Int64, pods: [PodShare], systemJoules: Double,
        idleJoules: Double, staticJoules: Double, dynamicJoules: Double, measuredJoules: Double,
        coveredMilliseconds: Int64, coverage: Double, attributed: Bool
    ) {
        self.node = node
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.pods = pods
        self.systemJoules = systemJoules
        self.idleJoules = idleJoules
        self.staticJoules = staticJoules
        self.dynamicJoules = dynamicJoules
        self.measuredJoules = measuredJoules
        self.coveredMilliseconds = coveredMilliseconds
        self.coverage = coverage
        self.attributed = attributed
    }
}

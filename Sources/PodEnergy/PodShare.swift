/// One pod's part of a node's measured energy over one window.
public struct PodShare: Sendable, Equatable {
    /// The pod's namespace.
    public var namespace: String
    /// The pod's name.
    public var name: String
    /// The pod's UID.
    public var uid: String
    /// CPU the pod used over the covered part of the window, core-seconds.
    public var cpuSeconds: Double
    /// The pod's part of the dynamic energy (by its share of CPU usage), joules.
    public var dynamicJoules: Double
    /// The pod's part of the static energy (by the static power policy), joules.
    public var staticJoules: Double

    /// The pod's energy, joules: dynamic plus static.
    public var joules: Double { dynamicJoules + staticJoules }

    /// A pod's share as `PodAttribution` computes it.
    public init(
        namespace: String, name: String, uid: String, cpuSeconds: Double, dynamicJoules: Double, staticJoules: Double
    ) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.cpuSeconds = cpuSeconds
        self.dynamicJoules = dynamicJoules
        self.staticJoules = staticJoules
    }
}

import JSON

/// One node's CPU usage as metrics-server reports it (`NodeMetrics` of
/// `metrics.k8s.io/v1beta1`): the mean over `windowMilliseconds` ending at
/// `timestampMilliseconds`, everything on the node included (pods, kubelet, the OS).
public struct NodeUsage: Sendable, Equatable {
    /// The node's name.
    public var name: String
    /// The end of the window the usage was measured over, unix milliseconds.
    public var timestampMilliseconds: Int64
    /// The window's length.
    public var windowMilliseconds: Int64
    /// The mean CPU usage over the window, in cores.
    public var cpuCores: Double

    /// Creates a usage.
    public init(name: String, timestampMilliseconds: Int64, windowMilliseconds: Int64, cpuCores: Double) {
        self.name = name
        self.timestampMilliseconds = timestampMilliseconds
        self.windowMilliseconds = windowMilliseconds
        self.cpuCores = cpuCores
    }

    /// Reads one `NodeMetrics` object; nil when its name, timestamp, window or `usage.cpu` is
    /// missing or malformed.
    public init?(json: JSONValue) {
        guard let name = json["metadata"]?["name"]?.string, !name.isEmpty,
            let timestamp = json["timestamp"]?.string.flatMap(KubernetesTimestamp.milliseconds),
            let window = json["window"]?.string.flatMap(GoDuration.milliseconds),
            let cpu = json["usage"]?["cpu"]?.string.flatMap(CPUQuantity.cores)
        else { return nil }
        self.init(name: name, timestampMilliseconds: timestamp, windowMilliseconds: window, cpuCores: cpu)
    }
}

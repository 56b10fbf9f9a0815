import JSON

/// One pod's CPU usage as metrics-server reports it (`PodMetrics` of
/// `metrics.k8s.io/v1beta1`): the mean over `windowMilliseconds` ending at
/// `timestampMilliseconds`, per container and in all.
public struct PodUsageReport: Sendable, Equatable {
    /// The pod's namespace.
    public var namespace: String
    /// The pod's name.
    public var name: String
    /// The end of the window, unix milliseconds.
    public var timestampMilliseconds: Int64
    /// The window's length.
    public var windowMilliseconds: Int64
    /// The sum of the containers' mean usage, in cores.
    public var cpuCores: Double
    /// Each container's mean usage, in cores, by container name.
    public var containers: [String: Double]

    /// Creates a report; `cpuCores` is the sum of `containers`.
    public init(
        namespace: String, name: String, timestampMilliseconds: Int64, windowMilliseconds: Int64,
        containers: [String: Double]
    ) {
        self.namespace = namespace
        self.name = name
        self.timestampMilliseconds = timestampMilliseconds
        self.windowMilliseconds = windowMilliseconds
        self.containers = containers
        // Summed in name order, so that equal reports have equal sums to the last bit.
        self.cpuCores = containers.sorted { $0.key < $1.key }.reduce(0) { $0 + $1.value }
    }

    /// Reads one `PodMetrics` object; nil when its name, namespace, timestamp or window is
    /// missing or malformed, or any container lacks a name or a well-formed `usage.cpu` (a
    /// pod's sum without one of its containers would be wrong, not just short). A pod without
    /// containers is kept with zero usage, as metrics-server may list one that is starting.
    public init?(json: JSONValue) {
        guard let name = json["metadata"]?["name"]?.string, !name.isEmpty,
            let namespace = json["metadata"]?["namespace"]?.string, !namespace.isEmpty,
            let timestamp = json["timestamp"]?.string.flatMap(KubernetesTimestamp.milliseconds),
            let window = json["window"]?.string.flatMap(GoDuration.milliseconds)
        else { return nil }
        var containers: [String: Double] = [:]
        if let list = json["containers"], !list.isNull {
            guard let items = list.array else { return nil }
            for container in items {
                guard let containerName = container["name"]?.string, !containerName.isEmpty,
                    containers[containerName] == nil,
                    let cpu = container["usage"]?["cpu"]?.string.flatMap(CPUQuantity.cores)
                else { return nil }
                containers[containerName] = cpu
            }
        }
        self.init(
            namespace: namespace, name: name, timestampMilliseconds: timestamp, windowMilliseconds: window,
            containers: containers)
    }
}

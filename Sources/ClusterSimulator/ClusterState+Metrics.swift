import EnergyModel
import JSON
import Kubernetes

/// The simulated metrics-server: CPU loads set by the test, averaged over the model's windows.
extension ClusterState {
    /// `metrics.k8s.io/v1beta1`.
    static let metricsAPIVersion = "metrics.k8s.io/v1beta1"

    /// The end of the window answers describe now: the wall clock (or the time frozen at)
    /// rounded down to the resolution.
    func metricsTimestamp(resolution: Int64) -> Int64 {
        let now = metricsFrozenAt ?? WallClock.nowMilliseconds()
        return now - ((now % resolution) + resolution) % resolution
    }

    func setPodLoad(namespace: String, name: String, cores: Double, at time: Int64?) -> Bool {
        let key = Self.key(namespace, name)
        guard cpuLoad.pods[key] != nil else { return false }
        cpuLoad.setPodLoad(key: key, cores: cores, at: time ?? WallClock.nowMilliseconds())
        return true
    }

    func setSystemLoad(node: String, cores: Double) {
        cpuLoad.setSystemLoad(node: node, cores: cores, at: WallClock.nowMilliseconds())
    }

    func freezeMetrics(_ frozen: Bool, resolution: Int64) {
        if frozen {
            if metricsFrozenAt == nil { metricsFrozenAt = metricsTimestamp(resolution: resolution) }
        } else {
            metricsFrozenAt = nil
        }
    }

    /// `NodeMetrics` of every current node (or the one named), as metrics-server serves them.
    func nodeMetrics(model: ResourceMetricsModel, name: String?, labels: LabelSelector) -> [JSONValue] {
        let window = model.resolutionMilliseconds
        let end = metricsTimestamp(resolution: window)
        let created = WallClock.nowMilliseconds()
        return nodeSnapshots().filter { (name == nil || $0.name == name) && labels.matches($0.labels) }.map { node in
            let mean = cpuLoad.nodeCoreMilliseconds(node: node.name, from: end - window, to: end) / Double(window)
            return [
                "metadata": [
                    "name": .string(node.name), "creationTimestamp": .string(KubernetesTime.format(created)),
                    "labels": .stringMap(node.labels),
                ],
                "timestamp": .string(KubernetesTime.format(end)),
                "window": .string(GoDuration.format(milliseconds: window)),
                "usage": ["cpu": .string(Self.nanocores(mean)), "memory": "2097152Ki"],
            ]
        }
    }

    /// `PodMetrics` of every pod running at the window's end (in `namespace`, or the one
    /// named): what the kubelets report, so pending and finished pods are absent.
    func podMetrics(model: ResourceMetricsModel, namespace: String?, name: String?, labels: LabelSelector)
        -> [JSONValue]
    {
        let window = model.resolutionMilliseconds
        let end = metricsTimestamp(resolution: window)
        let created = WallClock.nowMilliseconds()
        return cpuLoad.pods(runningAt: end).filter { _, record in
            (namespace == nil || record.namespace == namespace) && (name == nil || record.name == name)
                && labels.matches(record.labels)
        }.map { key, record in
            let mean = cpuLoad.podCoreMilliseconds(key: key, from: end - window, to: end) / Double(window)
            // Whole nanocores, split among the containers so that they add up exactly.
            let total = Int64(clampingRounding: mean * 1e9)
            let names = record.containers.isEmpty ? ["main"] : record.containers
            let count = Int64(names.count)
            let containers: [JSONValue] = names.enumerated().map { index, containerName in
                let share = total / count + (index == 0 ? total % count : 0)
                return ["name": .string(containerName), "usage": ["cpu": .string("\(share)n"), "memory": "16384Ki"]]
            }
            return [
                "metadata": [
                    "name": .string(record.name), "namespace": .string(record.namespace),
                    "creationTimestamp": .string(KubernetesTime.format(created)), "labels": .stringMap(record.labels),
                ],
                "timestamp": .string(KubernetesTime.format(end)),
                "window": .string(GoDuration.format(milliseconds: window)),
                "containers": .array(containers),
            ]
        }
    }

    /// A pod's CPU time over `[from, to)` (unix milliseconds), in core-milliseconds.
    func podCoreMilliseconds(namespace: String, name: String, from: Int64, to: Int64) -> Double {
        cpuLoad.podCoreMilliseconds(key: Self.key(namespace, name), from: from, to: to)
    }

    /// A node's CPU time over `[from, to)`, in core-milliseconds.
    func nodeCoreMilliseconds(node: String, from: Int64, to: Int64) -> Double {
        cpuLoad.nodeCoreMilliseconds(node: node, from: from, to: to)
    }

    /// Cores as metrics-server writes them: whole nanocores, `123456789n`.
    static func nanocores(_ cores: Double) -> String {
        "\(Int64(clampingRounding: cores * 1e9))n"
    }
}

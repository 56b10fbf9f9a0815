import ClusterSimulator
import Foundation
import JSON

/// An installation as `k8s/` makes it, in the cluster simulator's terms: nodes with fresh
/// power annotations (and one unmetered), the service accounts' permissions, the ConfigMaps,
/// the second scheduler's Deployment, the node guard policy and the monitor's metrics behind
/// the service proxy. Tests of `energy-monitor check` break one part at a time.
public struct CheckedInstallation: Sendable {
    /// The API server's version.
    public var serverVersion = "v1.33.4+k3s1"
    /// The nodes with the watts of their annotations; nil: no plug, no annotation.
    public var nodes = ["tvpc": 48.5, "wyse": 2.5, "rpi": 2.3, "master": nil as Double?]
    public var stalePowerOn: String?
    public var operatorPermissions: [String: Set<String>]? = nil
    public var monitorPermissions: [String: Set<String>] = ["nodes": ["patch"]]
    public var extenderPermissions: [String: Set<String>] = ["nodes": ["get", "list", "watch"]]
    /// The nodes of the monitor's `plugs:`.
    public var plugs = ["tvpc", "wyse", "rpi"]
    /// The monitor's `kubernetes.unmetered`.
    public var unmetered = ["master"]
    /// The knowledge-base ConfigMap manifest.
    public var knowledgeBase = try! String(contentsOfFile: TestPaths.knowledgeBaseManifest, encoding: .utf8)
    public var policyPrefix: String? = "energy.thesis.io/"
    /// The kube-scheduler image of the second scheduler.
    public var schedulerImage = "registry.k8s.io/kube-scheduler:v1.33.2"
    /// Its ready replicas.
    public var readyReplicas = 1
    /// The extender container's command.
    public var extenderArguments = ["energy-monitor", "extender", "--listen", "127.0.0.1:8888", "--watch-nodes"]
    /// The scheduler configuration's `nodeCacheCapable`.
    public var nodeCacheCapable = true
    public var metrics: String? = """
        energy_monitor_build_info{version="0.1.0"} 1
        energy_monitor_plug_up{node="tvpc"} 1
        energy_monitor_plug_up{node="wyse"} 1
        energy_monitor_plug_up{node="rpi"} 1
        """

    static func configMap(_ namespace: String, _ name: String, _ key: String, _ text: String) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": .string(name), "namespace": .string(namespace)], "data": [key: .string(text)],
        ]
    }

    /// `profiles.yaml` of the shipped ConfigMap manifest.
    var profiles: String {
        let marker = "profiles.yaml: |\n"
        guard let start = knowledgeBase.range(of: marker) else { return knowledgeBase }
        return knowledgeBase[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("    ") ? String($0.dropFirst(4)) : String($0) }.joined(separator: "\n")
    }

    /// Keeps the plug nodes' power annotations as fresh as a running monitor keeps them (a
    /// new reading every 5 s), so that a check on a loaded machine is judged by the age of the
    /// latest reading, not by how long ago the installation was made; the stale node stays
    /// stale. Cancel the task when done.
    public func keepPowerFresh(_ simulator: ClusterSimulator) -> Task<Void, Never> {
        let fresh = nodes.filter { $0.key != stalePowerOn }.compactMapValues { $0 }
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                for (name, watts) in fresh where !Task.isCancelled {
                    try? await simulator.annotateNode(name, ClusterPayloads.power(watts).mapValues { Optional($0) })
                }
            }
        }
    }

    /// The simulator configuration holding it.
    public var configuration: ClusterSimulator.Configuration {
        let simulated = nodes.keys.sorted().map { name -> SimulatedNode in
            guard let watts = nodes[name] ?? nil else { return SimulatedNode(name: name) }
            return SimulatedNode(
                name: name, annotations: ClusterPayloads.power(watts, age: name == stalePowerOn ? 120 : 1))
        }
        let monitorConfig = """
            plugs:
            \(plugs.map { "  - {node: \($0), address: 192.168.1.10, passwordFile: /etc/energy-monitor/secrets/\($0)}" }.joined(separator: "\n"))
            kubernetes:
              annotate: true
              prefix: energy.thesis.io
              unmetered: [\(unmetered.joined(separator: ", "))]
            """
        let schedulerConfig = """
            apiVersion: kubescheduler.config.k8s.io/v1
            kind: KubeSchedulerConfiguration
            profiles:
              - schedulerName: my-energy-scheduler
            extenders:
              - urlPrefix: http://127.0.0.1:8888/scheduler
                filterVerb: filter
                prioritizeVerb: prioritize
                nodeCacheCapable: \(nodeCacheCapable)
                ignorable: true
            """
        var objects: [JSONValue] = [
            Self.configMap("energy-monitor", "energy-monitor-config", "config.yaml", monitorConfig),
            Self.configMap("kube-system", "scheduler-knowledge-base", "profiles.yaml", profiles),
            Self.configMap("kube-system", "my-energy-scheduler-config", "scheduler-config.yaml", schedulerConfig),
            [
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": ["name": "my-energy-scheduler", "namespace": "kube-system"],
                "spec": [
                    "replicas": 1,
                    "template": [
                        "spec": [
                            "containers": [
                                ["name": "kube-scheduler", "image": .string(schedulerImage)],
                                [
                                    "name": "energy-extender", "image": "ghcr.io/energy-monitor/energy-monitor:0.1.0",
                                    "command": .array(extenderArguments.map { .string($0) }),
                                ],
                            ]
                        ]
                    ],
                ],
                "status": ["readyReplicas": .integer(Int64(readyReplicas))],
            ],
        ]
        if let policyPrefix {
            objects.append([
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                "metadata": ["name": "energy-monitor-node-annotations-only"],
                "spec": ["variables": [["name": "prefix", "expression": .string("'\(policyPrefix)'")]]],
            ])
            objects.append([
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": ["name": "energy-monitor-node-annotations-only"],
                "spec": ["policyName": "energy-monitor-node-annotations-only"],
            ])
        }
        let metrics = self.metrics
        return ClusterSimulator.Configuration(
            nodes: simulated, permissions: operatorPermissions, user: "admin", serverVersion: serverVersion,
            subjects: [
                "system:serviceaccount:energy-monitor:energy-monitor": monitorPermissions,
                "system:serviceaccount:kube-system:my-energy-scheduler": extenderPermissions,
            ],
            objects: objects,
            serviceProxy: { namespace, service, path in
                guard namespace == "energy-monitor", service == "energy-monitor:http", path == "/metrics",
                    let metrics
                else { return nil }
                return (200, Array(metrics.utf8))
            })
    }

    /// The healthy installation.
    public init() {}
}

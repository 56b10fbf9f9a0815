import ClusterSimulator
import CurlClient
import EnergyModel
import Exposition
import Foundation
import JSON
import Scoring

/// `bench --extender-nodes N`: the extender's `prioritize` latency and memory at N nodes, for
/// both request shapes, each in an `energy-monitor extender` process of its own:
///
/// * whole Node objects (`nodeCacheCapable: false`): every call carries N objects of the
///   size real nodes have (labels, conditions, images, capacity; about 7 KiB each), with
///   `--max-body-bytes` raised to take them;
/// * node names (`nodeCacheCapable: true`): the extender's node view follows an API stand-in
///   in this process holding the same N nodes, and every call carries N names.
///
/// The knowledge base has one entry per node, as a cluster of that size needs; every node's
/// power annotation is fresh, so that scoring reports nothing.
struct ExtenderBench {
    /// One shape's figures.
    struct Figures {
        var shape: String
        var bodyBytes: Int
        var latencies: [Double]
        var residentBytes: Int
        var peakResidentBytes: Int
        var idleResidentBytes: Int
    }

    let executable: String
    let folder: URL
    let client: CurlMultiClient
    let nodes: Int
    let calls: Int

    static let prefix = PowerAnnotations.defaultPrefix

    func run() async throws -> [Figures] {
        let names = (0..<nodes).map { String(format: "node-%05d", $0) }
        let knowledgeBase = folder.appendingPathComponent("extender-bench-profiles.yaml")
        var yaml = "sequential:\n"
        for (index, name) in names.enumerated() {
            yaml += "  - {nodeName: \"\(name)-cpu\", performanceRate: \(100 + index % 50), "
                + "powerConsumptionWatts: \(20 + index % 30), idlePowerWatts: \(5 + index % 7)}\n"
        }
        try yaml.write(to: knowledgeBase, atomically: true, encoding: .utf8)

        // Readings 20 s ahead count as fresh (clocks disagree) for 50 s; refreshed every 20 s.
        let reader = PowerAnnotations()
        func annotations(_ index: Int) -> [String: String] {
            reader.annotations(watts: Double(10 + index % 40), at: Date().addingTimeInterval(20))
        }
        let simulator = ClusterSimulator(
            configuration: .init(
                nodes: names.enumerated().map { SimulatedNode(name: $0.element, annotations: annotations($0.offset)) },
                historyLimit: 4 * nodes + 100),
            lifecycle: ScriptedLifecycle(placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) }))
        let port = try await simulator.start()
        let refresher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(20))
                for (index, name) in names.enumerated() where !Task.isCancelled {
                    try? await simulator.annotateNode(name, annotations(index).mapValues { Optional($0) })
                }
            }
        }
        defer { refresher.cancel() }

        var figures: [Figures] = []
        let pod = Self.pod()
        let nodeBody = { () -> [UInt8] in
            let items = names.enumerated().map { Self.node(named: $0.element, annotations: annotations($0.offset)) }
            return JSONValue.object(["Pod": pod, "Nodes": ["metadata": [:], "items": .array(items)], "NodeNames": .null])
                .serialized
        }
        let sample = nodeBody()
        let limit = max(2 << 20, sample.count * 2)
        figures.append(
            try await measure(
                shape: "\(nodes) Node objects (nodeCacheCapable: false)", name: "objects",
                arguments: ["--max-body-bytes", "\(min(limit, 1 << 30))"], body: nodeBody, ready: { _ in true }))
        let namesBody = JSONValue.object(["Pod": pod, "Nodes": .null, "NodeNames": .array(names.map { .string($0) })])
            .serialized
        figures.append(
            try await measure(
                shape: "\(nodes) node names (nodeCacheCapable: true, --watch-nodes)", name: "names",
                arguments: ["--watch-nodes", "--loopback-api-server", "http://127.0.0.1:\(port)"], body: { namesBody },
                ready: { base in
                    let text = try? await client.perform(HTTPRequest(url: base + "/metrics", timeoutMilliseconds: 5000))
                    let metrics = ExpositionReader(text.map { String(decoding: $0.body, as: UTF8.self) } ?? "")
                    return metrics.value("energy_monitor_extender_node_view_nodes") == Double(nodes)
                }))
        await simulator.stop()
        return figures
    }

    /// Starts an extender, waits until `ready`, posts `calls` bodies one after another and
    /// reads its memory.
    private func measure(
        shape: String, name: String, arguments: [String], body: () -> [UInt8],
        ready: (String) async -> Bool
    ) async throws -> Figures {
        let log = folder.appendingPathComponent("extender-\(name).log").path
        let child = try BenchChild(
            name: "extender", executable: executable,
            arguments: [
                "extender", "--knowledge-base", folder.appendingPathComponent("extender-bench-profiles.yaml").path,
                "--listen", "127.0.0.1:0", "--log-level", "warning",
            ] + arguments, logPath: log)
        defer { child.stop() }
        var base: String?
        let deadline = WallClockSeconds.now() + 60
        while base == nil, child.isRunning, WallClockSeconds.now() < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("extender listening on ") }) {
                base = String(line.dropFirst("extender listening on ".count))
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let base else { throw CommandFailure("the extender did not start: \(child.logTail())") }
        let readyBy = WallClockSeconds.now() + 120
        while !(await ready(base)) {
            guard child.isRunning, WallClockSeconds.now() < readyBy else {
                throw CommandFailure("the extender's node view did not fill within 120 s: \(child.logTail())")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let idle = ProcessUsage.read(pid: child.pid)?.residentBytes ?? 0
        var latencies: [Double] = []
        var size = 0
        for _ in 0..<calls {
            let bytes = body()
            size = bytes.count
            let started = ContinuousClock.now
            let response = try await client.perform(
                HTTPRequest(
                    url: base + "/scheduler/prioritize", method: "POST", headers: ["Content-Type: application/json"],
                    body: bytes, timeoutMilliseconds: 120_000, maxResponseBytes: 16 << 20))
            let elapsed = ContinuousClock.now - started
            guard response.status == 200 else {
                throw CommandFailure("prioritize answered \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
            }
            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        let usage = ProcessUsage.read(pid: child.pid)
        return Figures(
            shape: shape, bodyBytes: size, latencies: latencies, residentBytes: usage?.residentBytes ?? 0,
            peakResidentBytes: usage?.peakResidentBytes ?? 0, idleResidentBytes: idle)
    }

    /// A pod that opts in to energy scoring.
    static func pod() -> JSONValue {
        [
            "metadata": [
                "name": "bench-pod", "namespace": "ml",
                "labels": ["app": "ml-workflow", "workload-profile": "sequential"],
                "annotations": ["scheduler.policy/performance-weight": "0.5"],
            ],
            "spec": ["schedulerName": "my-energy-scheduler", "containers": [["name": "main", "image": "busybox:1.36"]]],
        ]
    }

    /// A Node object of the usual size: what kube-scheduler sends with `nodeCacheCapable: false`.
    static func node(named name: String, annotations: [String: String]) -> JSONValue {
        var allAnnotations: [String: JSONValue] = [
            "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            "k3s.io/hostname": .string(name), "k3s.io/internal-ip": "10.0.0.1", "k3s.io/node-args": "[\"agent\"]",
            "flannel.alpha.coreos.com/backend-data": "{\"VNI\":1,\"VtepMAC\":\"aa:bb:cc:dd:ee:ff\"}",
        ]
        for (key, value) in annotations { allAnnotations[key] = .string(value) }
        let images: [JSONValue] = (0..<12).map { index in
            [
                "names": [
                    .string("registry.example/team/image-\(index)@sha256:" + String(repeating: "ab", count: 32)),
                    .string("registry.example/team/image-\(index):v1.\(index).0"),
                ],
                "sizeBytes": .integer(Int64(50_000_000 + index * 1_000_000)),
            ]
        }
        let conditions: [JSONValue] = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map { type in
            [
                "type": .string(type), "status": .string(type == "Ready" ? "True" : "False"),
                "lastHeartbeatTime": "2026-01-21T21:25:01Z", "lastTransitionTime": "2026-01-20T08:00:00Z",
                "reason": .string(type == "Ready" ? "KubeletReady" : "KubeletHasSufficient\(type)"),
                "message": .string(type == "Ready" ? "kubelet is posting ready status" : "kubelet has sufficient resources"),
            ]
        }
        let resources: JSONValue = ["cpu": "8", "memory": "32778892Ki", "ephemeral-storage": "487652Mi", "pods": "110"]
        return [
            "metadata": [
                "name": .string(name), "uid": .string("uid-\(name)"), "resourceVersion": "12345",
                "creationTimestamp": "2026-01-20T08:00:00Z",
                "labels": [
                    "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": .string(name),
                    "node-role.kubernetes.io/worker": "true", "node.kubernetes.io/instance-type": "k3s",
                    "topology.kubernetes.io/zone": "zone-a", "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                ],
                "annotations": .object(allAnnotations),
            ],
            "spec": ["podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"], "providerID": .string("k3s://\(name)")],
            "status": [
                "capacity": resources, "allocatable": resources, "conditions": .array(conditions),
                "addresses": [["type": "InternalIP", "address": "10.0.0.1"], ["type": "Hostname", "address": .string(name)]],
                "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
                "nodeInfo": [
                    "machineID": "0123456789abcdef0123456789abcdef", "systemUUID": "01234567-89ab-cdef-0123-456789abcdef",
                    "bootID": "01234567-89ab-cdef-0123-456789abcdef", "kernelVersion": "6.1.0-18-amd64",
                    "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "containerd://1.7.15-k3s1",
                    "kubeletVersion": "v1.33.4+k3s1", "kubeProxyVersion": "v1.33.4+k3s1", "operatingSystem": "linux",
                    "architecture": "amd64",
                ],
                "images": .array(images),
            ],
        ]
    }
}


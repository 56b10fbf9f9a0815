import ClusterSimulator
import Foundation
import JSON
import Kubernetes
import TestSupport
import Testing

/// The metrics client against the API stand-in's metrics-server: exact window means after
/// load changes, the node as its pods plus its system load, 404 without metrics-server, 503
/// and 403, stale windows while frozen, and finished pods leaving the list.
@Suite("Resource metrics client")
struct ResourceMetricsClientTests {
    static let namespace = "ml"

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Creates a Job whose pod runs on `tvpc` until told, and returns the running pod's name.
    static func runningPod(_ cluster: RunningCluster, job: String) async throws -> String {
        let body = JSONValue.object([
            "apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": .string(job)],
            "spec": [
                "backoffLimit": 0,
                "template": [
                    "metadata": ["labels": ["app": "train"]],
                    "spec": [
                        "restartPolicy": "Never",
                        "containers": [
                            ["name": "main", "image": "busybox"], ["name": "sidecar", "image": "busybox"],
                        ],
                    ],
                ],
            ],
        ]).serialized
        _ = try await cluster.client.post(path: "/apis/batch/v1/namespaces/\(namespace)/jobs", body: body)
        var name: String?
        let running = await eventually(within: .seconds(30)) {
            name = await cluster.simulator.pods().first { $0.job?.name == job && $0.phase == .running }?.name
            return name != nil
        }
        #expect(running, "the pod of \(job) did not start")
        return try #require(name)
    }

    /// Node and pod metrics of one window ending at or after `from`.
    struct Snapshot {
        var node: NodeUsage
        var pods: [PodUsageReport]
    }

    /// With `pods`, only an answer listing exactly those pods counts (a window in which a
    /// running pod is missing is waited past, and named if it is all there is).
    static func snapshot(
        _ cluster: RunningCluster, from: Int64, node: String = "tvpc", pods expected: Set<String>? = nil
    ) async throws -> Snapshot {
        var found: Snapshot?
        var answers: [String] = []
        let seen = try await eventually(within: .seconds(60), every: .milliseconds(100)) {
            // The node read before and after the pods, as the monitor does: on a busy machine
            // the two requests often fall into different windows, and one of the node's
            // figures is then the pods' window. All three at once: on an overloaded machine
            // each answer took 4 s, longer than a window, when they were asked in turn.
            async let nodesBefore = cluster.client.nodeMetrics()
            async let podsNow = cluster.client.podMetrics(namespace: namespace)
            async let nodesAfter = cluster.client.nodeMetrics()
            let (before, pods, after) = try await (nodesBefore, podsNow, nodesAfter)
            answers.append(
                "node \(before.map(\.timestampMilliseconds)) \(after.map(\.timestampMilliseconds)), pods \(pods.map { "\($0.name)@\($0.timestampMilliseconds)" })"
            )
            if let expected, Set(pods.map(\.name)) != expected { return false }
            for nodes in [before, after] {
                guard let usage = nodes.first(where: { $0.name == node }), usage.timestampMilliseconds >= from,
                    pods.allSatisfy({ $0.timestampMilliseconds == usage.timestampMilliseconds })
                else { continue }
                found = Snapshot(node: usage, pods: pods)
                return true
            }
            return false
        }
        #expect(seen, "no metrics window ending at or after \(from): \(answers.suffix(5))")
        return try #require(found)
    }

    /// A load change made some time in `[before, after]`.
    struct Change {
        var before: Int64
        var after: Int64
        var cores: Double
    }

    /// The lowest and highest mean over `[from, to)` that `changes` (in order, from zero) allow:
    /// a rise made later lowers the mean, a fall made later raises it.
    static func bounds(_ changes: [Change], from: Int64, to: Int64) -> ClosedRange<Double> {
        func mean(latest: Bool) -> Double {
            var total = 0.0
            var previous = 0.0
            var times: [(Int64, Double)] = []
            for change in changes {
                let rises = change.cores > previous
                times.append((rises == latest ? change.after : change.before, change.cores))
                previous = change.cores
            }
            for (index, (start, cores)) in times.enumerated() {
                let end = index + 1 < times.count ? times[index + 1].0 : Int64.max
                let overlap = min(end, to) - max(start, from)
                if overlap > 0 { total += cores * Double(overlap) }
            }
            return total / Double(to - from)
        }
        return mean(latest: true)...mean(latest: false)
    }

    @Test("the mean over each window is exact after load changes; the node is its pods plus its system load")
    func exactMeans() async throws {
        let window: Int64 = 2000
        try await withCluster(
            lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil),
            metrics: ResourceMetricsModel(resolutionMilliseconds: window, systemCores: ["tvpc": 0.25])
        ) { cluster in
            let pod = try await Self.runningPod(cluster, job: "train")
            var changes: [Change] = []
            func change(_ cores: Double) async {
                let before = Self.now()
                #expect(await cluster.simulator.setCPULoad(pod: pod, namespace: Self.namespace, cores: cores))
                changes.append(Change(before: before, after: Self.now(), cores: cores))
            }
            func check(_ snapshot: Snapshot) async throws -> Double {
                let end = snapshot.node.timestampMilliseconds
                #expect(end % window == 0)
                #expect(snapshot.node.windowMilliseconds == window)
                let report = try #require(snapshot.pods.first { $0.name == pod })
                #expect(report.windowMilliseconds == window)
                #expect(Set(report.containers.keys) == ["main", "sidecar"])
                let allowed = Self.bounds(changes, from: end - window, to: end)
                #expect(
                    report.cpuCores >= allowed.lowerBound - 1e-9 && report.cpuCores <= allowed.upperBound + 1e-9,
                    "\(report.cpuCores) outside \(allowed)")
                let truth =
                    await cluster.simulator.cpuSeconds(
                        pod: pod, namespace: Self.namespace, from: end - window, to: end) / 2
                #expect(abs(report.cpuCores - truth) < 1e-9, "\(report.cpuCores) != \(truth)")
                #expect(abs(snapshot.node.cpuCores - (report.cpuCores + 0.25)) < 2e-9)
                let nodeTruth = await cluster.simulator.nodeCPUSeconds(node: "tvpc", from: end - window, to: end) / 2
                #expect(abs(snapshot.node.cpuCores - nodeTruth) < 1e-9)
                return report.cpuCores
            }
            await change(0.5)
            // A window wholly after the change: exactly the load.
            let steady = try await Self.snapshot(cluster, from: (changes[0].after / window + 2) * window)
            #expect(try await check(steady) == 0.5)
            // A window the change falls in: strictly between the loads, as the bounds say.
            var straddled = false
            for attempt in 0..<5 where !straddled {
                let level = attempt % 2 == 0 ? 1.5 : 0.5
                let previous = changes.last?.cores ?? 0
                // Early in a window, so that the request for it has most of the next one.
                _ = await eventually(within: .seconds(10), every: .milliseconds(20)) {
                    (200..<800).contains(Self.now() % window)
                }
                await change(level)
                guard let last = changes.last, last.before / window == last.after / window else { continue }
                let end = (last.after / window + 1) * window
                let snapshot = try await Self.snapshot(cluster, from: end)
                let mean = try await check(snapshot)
                if snapshot.node.timestampMilliseconds == end {
                    straddled = true
                    #expect(mean > min(previous, level) && mean < max(previous, level), "\(mean)")
                }
            }
            #expect(straddled, "no window with a load change in it was read")
            // And once more wholly after the last change.
            let last = try #require(changes.last)
            let after = try await Self.snapshot(cluster, from: (last.after / window + 2) * window)
            #expect(try await check(after) == last.cores)
        }
    }

    @Test("without metrics-server every metrics path is 404, which isMissingMetricsAPI tells")
    func missing() async throws {
        try await withCluster(lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil)) { cluster in
            for call in [0, 1, 2] {
                do {
                    switch call {
                    case 0: _ = try await cluster.client.nodeMetrics()
                    case 1: _ = try await cluster.client.podMetrics()
                    default: _ = try await cluster.client.podMetrics(namespace: "ml")
                    }
                    Issue.record("metrics answered without metrics-server")
                } catch let error as KubernetesRequestError {
                    #expect(error.isMissingMetricsAPI, "\(error)")
                    #expect(error.isNotFound)
                }
            }
            do {
                _ = try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1")
                Issue.record("discovery answered without metrics-server")
            } catch let error as KubernetesRequestError {
                #expect(error.isMissingMetricsAPI)
            }
        }
    }

    @Test("discovery, single objects, label selectors; 503 while the APIService is unavailable, then back")
    func unavailable() async throws {
        try await withCluster(
            lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil),
            metrics: ResourceMetricsModel(resolutionMilliseconds: 1000)
        ) { cluster in
            let pod = try await Self.runningPod(cluster, job: "train")
            let resources = try #require(
                JSONValue.parse(try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1")))
            #expect(resources["kind"]?.string == "APIResourceList")
            #expect(resources["groupVersion"]?.string == "metrics.k8s.io/v1beta1")
            #expect(Set((resources["resources"]?.array ?? []).compactMap { $0["name"]?.string }) == ["nodes", "pods"])
            // Pods are listed once their window ends after they started.
            #expect(try await eventually(within: .seconds(30)) { try await cluster.client.podMetrics().count == 1 })
            let one = try #require(
                JSONValue.parse(
                    try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1/namespaces/ml/pods/\(pod)")))
            #expect(one["kind"]?.string == "PodMetrics")
            #expect(PodUsageReport(json: one)?.name == pod)
            let node = try #require(
                JSONValue.parse(try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1/nodes/rpi")))
            #expect(node["kind"]?.string == "NodeMetrics")
            #expect(NodeUsage(json: node)?.cpuCores == 0)
            do {
                _ = try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1/nodes/nope")
                Issue.record("a missing node's metrics answered")
            } catch let error as KubernetesRequestError {
                #expect(error.isNotFound && !error.isMissingMetricsAPI, "\(error)")
            }
            let selected = try await cluster.client.list(
                path: "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=kubernetes.io%2Farch%3Darm")
            #expect(selected.items.compactMap { $0["metadata"]?["name"]?.string } == ["rpi"])

            await cluster.simulator.startOutage(matching: .nodeMetrics, status: 503)
            do {
                _ = try await cluster.client.nodeMetrics()
                Issue.record("no 503")
            } catch let error as KubernetesRequestError {
                guard case .unavailable(let status) = error.failure else { throw error }
                #expect(status.code == 503)
                #expect(status.message == "the server is currently unable to handle the request")
                #expect(!error.isMissingMetricsAPI)
            }
            #expect(try await cluster.client.podMetrics().count == 1)
            await cluster.simulator.endOutage(matching: .nodeMetrics)
            #expect(try await cluster.client.nodeMetrics().map(\.name) == ["tvpc", "dgoh-wyze", "rpi"])
            await cluster.simulator.fail(next: 1, matching: .podMetrics, status: 503)
            await #expect(throws: KubernetesRequestError.self) { _ = try await cluster.client.podMetrics() }
            #expect(try await cluster.client.podMetrics().count == 1)
            let recorded = await cluster.simulator.requests().filter { $0.resource == "pods.metrics.k8s.io" }
            #expect(recorded.map(\.status).contains(503))
            #expect(recorded.allSatisfy { $0.verb == "list" || $0.verb == "get" })
        }
    }

    @Test("permissions: 403 in the API server's words naming the metrics group, per resource and verb")
    func forbidden() async throws {
        try await withCluster(
            lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil),
            permissions: ["pods.metrics.k8s.io": ["list"], "nodes": ["get", "list"]],
            metrics: ResourceMetricsModel(resolutionMilliseconds: 1000)
        ) { cluster in
            do {
                _ = try await cluster.client.nodeMetrics()
                Issue.record("node metrics allowed")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden && !error.isMissingMetricsAPI)
                #expect(
                    error.description.contains(
                        #"nodes.metrics.k8s.io is forbidden: User "system:serviceaccount:default:workflow-runner" cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope"#
                    ), "\(error)")
            }
            _ = try await cluster.client.podMetrics(namespace: "ml")
            do {
                _ = try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1/namespaces/ml/pods/x")
                Issue.record("get allowed with list only")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden)
                #expect(error.description.contains(#"in the namespace "ml""#), "\(error)")
            }
            await cluster.simulator.forbid("list", "pods.metrics.k8s.io")
            await #expect(throws: KubernetesRequestError.self) { _ = try await cluster.client.podMetrics() }
            await cluster.simulator.allow("list", "pods.metrics.k8s.io")
            _ = try await cluster.client.podMetrics()
        }
        // Authorization comes before routing: without the grant it is 403 even with no metrics-server.
        try await withCluster(
            lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil), permissions: ["nodes": ["list"]]
        ) { cluster in
            do {
                _ = try await cluster.client.nodeMetrics()
                Issue.record("allowed")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden)
            }
        }
    }

    @Test("while frozen, answers keep the last timestamp, window and usage; then they move on")
    func frozen() async throws {
        // Windows long enough that the node's and the pods' answers, two requests, fall in
        // the same one on a loaded machine.
        let window: Int64 = 4000
        try await withCluster(
            lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil),
            metrics: ResourceMetricsModel(resolutionMilliseconds: window, systemCores: ["tvpc": 0.1])
        ) { cluster in
            let pod = try await Self.runningPod(cluster, job: "train")
            await cluster.simulator.setCPULoad(pod: pod, namespace: Self.namespace, cores: 1)
            let loaded = Self.now()
            let first = try await Self.snapshot(cluster, from: (loaded / window + 2) * window, pods: [pod])
            #expect(first.pods.first?.cpuCores == 1)
            await cluster.simulator.freezeMetrics(true)
            let frozen = try await Self.snapshot(cluster, from: first.node.timestampMilliseconds, pods: [pod])
            await cluster.simulator.setCPULoad(pod: pod, namespace: Self.namespace, cores: 3)
            await cluster.simulator.setSystemLoad(node: "tvpc", cores: 0.5)
            let changed = Self.now()
            // Windows go by; the answers stay.
            _ = await eventually(within: .seconds(60)) { Self.now() >= (changed / window + 3) * window }
            let stale = try await Self.snapshot(cluster, from: 0)
            #expect(stale.node == frozen.node)
            #expect(stale.pods == frozen.pods)
            #expect(stale.node.timestampMilliseconds < changed)
            await cluster.simulator.freezeMetrics(false)
            let fresh = try await Self.snapshot(cluster, from: (changed / window + 2) * window, pods: [pod])
            #expect(fresh.pods.first?.cpuCores == 3)
            #expect(abs(fresh.node.cpuCores - 3.5) < 1e-9)
        }
    }

    @Test("a pod that finishes drops out of the list and its load stops; the node keeps the rest")
    func finishedPods() async throws {
        // Windows long enough that the node's and the pods' answers, two requests, fall in
        // the same one on a loaded machine.
        let window: Int64 = 4000
        try await withCluster(
            lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil),
            metrics: ResourceMetricsModel(resolutionMilliseconds: window)
        ) { cluster in
            let first = try await Self.runningPod(cluster, job: "first")
            let second = try await Self.runningPod(cluster, job: "second")
            await cluster.simulator.setCPULoad(pod: first, namespace: Self.namespace, cores: 1)
            await cluster.simulator.setCPULoad(pod: second, namespace: Self.namespace, cores: 2)
            let loaded = Self.now()
            let both = try await Self.snapshot(cluster, from: (loaded / window + 2) * window, pods: [first, second])
            #expect(Set(both.pods.map(\.name)) == [first, second])
            #expect(both.node.cpuCores == 3)
            try await cluster.simulator.finishPod(first, namespace: Self.namespace)
            let finished = Self.now()
            let after = try await Self.snapshot(cluster, from: (finished / window + 2) * window)
            #expect(after.pods.map(\.name) == [second])
            #expect(after.node.cpuCores == 2)
            // Its load stays zero, whatever is set later.
            await cluster.simulator.setCPULoad(pod: first, namespace: Self.namespace, cores: 5)
            #expect(
                await cluster.simulator.cpuSeconds(
                    pod: first, namespace: Self.namespace, from: finished + 1, to: Self.now() + 10_000) == 0)
            // A deleted pod too.
            _ = try await cluster.client.delete(
                path: "/api/v1/namespaces/\(Self.namespace)/pods/\(second)", propagationPolicy: nil)
            let deleted = Self.now()
            let empty = try await Self.snapshot(cluster, from: (deleted / window + 2) * window)
            #expect(empty.pods.allSatisfy { $0.name != second })
            // Its Job's replacement runs without load.
            #expect(empty.node.cpuCores == 0)
            #expect(!(await cluster.simulator.setCPULoad(pod: "never-was", namespace: Self.namespace, cores: 1)))
        }
    }
}

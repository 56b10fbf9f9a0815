import ClusterCheck
import ClusterSimulator
import CurlClient
import Foundation
import JSON
import Kubernetes
import Logging
import TestSupport
import Testing

/// `energy-monitor check` against the API stand-in: an installation as `k8s/` makes it passes
/// every check, and each check fails once when its part is broken.
@Suite("Cluster check", .serialized)
struct ClusterCheckTests {
    static func check(_ installation: CheckedInstallation) async throws -> CheckReport {
        var logger = Logger(label: "check-tests")
        logger.logLevel = .critical
        let simulator = ClusterSimulator(
            configuration: installation.configuration,
            lifecycle: ScriptedLifecycle(
                placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) }),
            logger: logger)
        try await simulator.start()
        let refresher = installation.keepPowerFresh(simulator)
        defer { refresher.cancel() }
        let http = CurlMultiClient()
        defer { http.shutdown() }
        // A generous bound per request: the checks run against an in-process stand-in that a
        // loaded machine may keep waiting; what is judged is each check's verdict.
        let client = KubernetesClient(
            connection: try simulator.connection(), http: http, logger: logger, timeoutMilliseconds: 30_000)
        let report = await ClusterCheck(client: client).run()
        await simulator.stop()
        return report
    }

    @Test("an installation as k8s/ makes it passes every check")
    func healthy() async throws {
        let report = try await Self.check(CheckedInstallation())
        #expect(
            report.results.map(\.name) == [
                "api-server", "monitor-permissions", "extender-permissions", "node-guard", "plug-nodes",
                "unmetered-nodes",
                "power-annotations", "knowledge-base", "scheduler", "scheduler-version", "scheduler-config",
                "monitor-metrics",
            ])
        #expect(report.results.allSatisfy { $0.status == .ok }, "\(report.text)")
        #expect(!report.failed)
        #expect(report.summary == "12 checks: 12 ok, 0 warn, 0 fail")
        let json = report.json
        #expect(json["ok"] == 12)
        #expect(
            json["checks"]?[1]?["message"]?.string
                == "system:serviceaccount:energy-monitor:energy-monitor may patch nodes")
        #expect(report.text.split(separator: "\n").allSatisfy { !$0.isEmpty })
    }

    @Test(
        "each check fails once when its part is broken, with the fix on the same line",
        arguments: [
            ("old API server", "api-server", CheckResult.Status.warn, "older than 1.30"),
            ("monitor may not patch", "monitor-permissions", .fail, "may not patch nodes"),
            ("extender may not watch", "extender-permissions", .fail, "may not list nodes, watch nodes"),
            ("no impersonation", "monitor-permissions", .warn, "cannot ask as system:serviceaccount:energy-monitor"),
            ("no node guard", "node-guard", .warn, "is not installed"),
            ("guard for another prefix", "node-guard", .fail, "every annotation write will be refused"),
            ("plug on a missing node", "plug-nodes", .fail, "plugs name nodes the cluster does not have: ghost"),
            ("node without a plug", "unmetered-nodes", .fail, "not listed as unmetered: master"),
            ("stale power", "power-annotations", .fail, "rpi (12"),
            ("knowledge-base drift", "knowledge-base", .fail, "entry \"gone-cpu\""),
            ("scheduler not ready", "scheduler", .fail, "is not running (0 of 1 replicas ready)"),
            ("scheduler too old", "scheduler-version", .warn, "more than one minor below the API server v1.33.4"),
            ("no node view", "scheduler-config", .fail, "no --watch-nodes"),
            ("whole nodes", "scheduler-config", .warn, "nodeCacheCapable: false"),
            ("no metrics", "monitor-metrics", .fail, "cannot read the monitor's /metrics"),
        ])
    func eachCheckFails(breakage: String, name: String, status: CheckResult.Status, message: String) async throws {
        var installation = CheckedInstallation()
        switch breakage {
        case "old API server": installation.serverVersion = "v1.29.3+k3s1"
        case "monitor may not patch": installation.monitorPermissions = ["nodes": ["get"]]
        case "extender may not watch": installation.extenderPermissions = ["nodes": ["get"]]
        // Everything but impersonation.
        case "no impersonation": installation.operatorPermissions = ["*": ["get", "list", "watch"]]
        case "no node guard": installation.policyPrefix = nil
        case "guard for another prefix": installation.policyPrefix = "other.example/"
        case "plug on a missing node": installation.plugs.append("ghost")
        case "node without a plug": installation.unmetered = []
        case "stale power": installation.stalePowerOn = "rpi"
        case "knowledge-base drift":
            installation.knowledgeBase = installation.knowledgeBase.replacingOccurrences(
                of: "nodeName: \"rpi-cpu\"", with: "nodeName: \"gone-cpu\"")
        case "scheduler not ready": installation.readyReplicas = 0
        case "scheduler too old": installation.schedulerImage = "registry.k8s.io/kube-scheduler:v1.31.4"
        case "no node view": installation.extenderArguments.removeLast()
        case "whole nodes": installation.nodeCacheCapable = false
        case "no metrics": installation.metrics = nil
        default: Issue.record("unknown breakage \(breakage)")
        }
        let report = try await Self.check(installation)
        let result = try #require(report.results.first { $0.name == name && $0.status != .ok }, "\(report.text)")
        #expect(result.status == status, "\(result.line)")
        #expect(result.message.contains(message), "\(result.line)")
        #expect(result.fix?.isEmpty == false, "\(result.line)")
        #expect(!result.line.contains("\n"))
        #expect(report.failed == report.results.contains { $0.status == .fail })
        // The other checks are not dragged down by this one, but where the broken part is
        // theirs too: an old server makes the scheduler newer than it, impersonation is needed
        // for both accounts, a node that is no longer unmetered counts for the knowledge base.
        let others = Set(report.results.filter { $0.name != name && $0.status != .ok }.map(\.name))
        let expected: [String: Set<String>] = [
            "old API server": ["scheduler-version"], "no impersonation": ["extender-permissions"],
            "node without a plug": ["knowledge-base"],
        ]
        #expect(others == expected[breakage] ?? [], "\(report.text)")
    }

    @Test("an API server that cannot be reached is the only line, a failure with the fix")
    func unreachable() async throws {
        var logger = Logger(label: "check-tests")
        logger.logLevel = .critical
        let http = CurlMultiClient()
        defer { http.shutdown() }
        // A port nothing listens on: bound and closed again.
        let simulator = ClusterSimulator(
            configuration: .init(nodes: []),
            lifecycle: ScriptedLifecycle(
                placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) }))
        let port = try await simulator.start()
        await simulator.stop()
        let client = KubernetesClient(
            connection: KubernetesConnection(server: "http://127.0.0.1:\(port)"), http: http, logger: logger)
        let report = await ClusterCheck(client: client).run()
        #expect(report.results.count == 1)
        #expect(report.results.first?.name == "api-server")
        #expect(report.results.first?.status == .fail)
        #expect(report.results.first?.fix?.contains("kubectl cluster-info") == true, "\(report.text)")
        #expect(report.failed)
    }

    /// The monitor's reads for per-pod energy, beyond the annotation write that check asks about:
    /// pods (list, watch) and the resource metrics of nodes and pods (get, list).
    static let podEnergyReads: [String: Set<String>] = [
        "pods": ["list", "watch"], "nodes.metrics.k8s.io": ["get", "list"], "pods.metrics.k8s.io": ["get", "list"],
    ]

    @Test(
        "the shipped RBAC grants exactly what check asks for each account plus the monitor's pod and metrics reads, and nothing more"
    )
    func shippedRBAC() async throws {
        let monitor = try rolePermissions(TestPaths.packageRoot.appendingPathComponent("k8s/monitor-rbac.yaml").path)
        let extender = try rolePermissions(TestPaths.packageRoot.appendingPathComponent("k8s/scheduler/rbac.yaml").path)
        func grouped(_ uses: [(verb: String, resource: String)]) -> [String: Set<String>] {
            Dictionary(grouping: uses, by: \.resource).mapValues { Set($0.map(\.verb)) }
        }
        #expect(monitor == grouped(ClusterCheck.monitorUses).merging(Self.podEnergyReads) { $0.union($1) })
        #expect(extender == grouped(ClusterCheck.extenderUses))
        // With the monitor's grant alone, its annotation patch, pod list and watch and metrics reads
        // go through, and nothing else does.
        try await withCluster(
            nodes: [SimulatedNode(name: "tvpc")],
            lifecycle: ScriptedLifecycle(
                placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) }),
            permissions: monitor, metrics: ResourceMetricsModel(resolutionMilliseconds: 1000)
        ) { cluster in
            #expect(
                await cluster.client.patchNodeAnnotations(
                    node: "tvpc", annotations: ["energy.thesis.io/current-watts": "1.00"]) == .ok)
            _ = try await cluster.client.list(path: "/api/v1/pods")
            _ = try await cluster.client.get(path: "/api/v1/pods?watch=1&timeoutSeconds=1")
            #expect(try await cluster.client.nodeMetrics().map(\.name) == ["tvpc"])
            _ = try await cluster.client.get(path: "/apis/metrics.k8s.io/v1beta1/nodes/tvpc")
            _ = try await cluster.client.podMetrics()
            for path in [
                "/api/v1/nodes/tvpc", "/api/v1/nodes", "/api/v1/namespaces/ml/pods/x", "/apis/batch/v1/jobs",
                "/api/v1/namespaces/energy-monitor/configmaps",
            ] {
                do {
                    _ = try await cluster.client.get(path: path)
                    Issue.record("\(path) was allowed")
                } catch let error as KubernetesRequestError {
                    #expect(error.isForbidden, "\(path): \(error)")
                }
            }
            do {
                _ = try await cluster.client.delete(path: "/api/v1/namespaces/ml/pods/x", propagationPolicy: nil)
                Issue.record("delete pods was allowed")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden, "\(error)")
            }
        }
    }

    @Test("versions and the skew policy: the same minor or one below")
    func skew() throws {
        let server = try #require(KubernetesVersion("v1.34.2+k3s1"))
        #expect(server == KubernetesVersion(major: 1, minor: 34, patch: 2))
        #expect(KubernetesVersion("v1.34.1")?.isSchedulerWithinSkew(of: server) == true)
        #expect(KubernetesVersion("v1.33.9")?.isSchedulerWithinSkew(of: server) == true)
        #expect(KubernetesVersion("v1.32.0")?.isSchedulerWithinSkew(of: server) == false)
        #expect(KubernetesVersion("v1.35.0")?.isSchedulerWithinSkew(of: server) == false)
        #expect(KubernetesVersion("set-in-kustomization") == nil)
        #expect(KubernetesVersion("1.31") == KubernetesVersion(major: 1, minor: 31))
    }
}

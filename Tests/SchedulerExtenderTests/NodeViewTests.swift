import ClusterSimulator
import CurlClient
import Foundation
import Kubernetes
import Logging
import Scoring
import TestSupport
import Testing
import UserInput

@testable import SchedulerExtender

/// The extender's own view of the nodes (`--watch-nodes`), so that the scheduler may send
/// node names only (`nodeCacheCapable: true`): scored exactly as the whole Node objects would
/// be, following changes, surviving an API server restart, and saying what is wrong when it
/// may not watch.
@Suite("Extender node view", .serialized)
struct NodeViewTests {
    static let lifecycle = ScriptedLifecycle(
        placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) })

    static func annotated(_ watts: [String: Double]) -> [SimulatedNode] {
        watts.keys.sorted().map { SimulatedNode(name: $0, annotations: ClusterPayloads.power(watts[$0] ?? 0)) }
    }

    static func watcher(_ cluster: RunningCluster, metrics: ExtenderMetrics, restartDelay: Duration = .seconds(30))
        throws -> NodeViewWatcher
    {
        var logger = Logger(label: "node-view-tests")
        logger.logLevel = .critical
        // Generous, as `withCluster`'s own client: the stand-in answers in-process, on threads
        // an overloaded machine shares with the rest of the suite, and a list that times out
        // waits out `restartDelay` before the next (a first sync then took over 15 s).
        let client = KubernetesClient(
            connection: try cluster.simulator.connection(), http: cluster.http, logger: logger,
            timeoutMilliseconds: 60_000)
        return NodeViewWatcher(
            client: client, annotationPrefix: PowerAnnotations.defaultPrefix, metrics: metrics, logger: logger,
            restartDelay: restartDelay)
    }

    static func names(_ names: [String]) throws -> [UInt8] {
        let pod = try ClusterPayloads.pod(profile: "sequential", weight: "0")
        return Array(try JSONSerialization.data(withJSONObject: ["Pod": pod, "Nodes": NSNull(), "NodeNames": names]))
    }

    static func priorities(_ response: CurlClient.HTTPResponse) throws -> [HostPriority] {
        try JSONDecoder().decode([HostPriority].self, from: Data(response.body))
    }

    @Test("NodeNames are scored from the view exactly as whole Node objects; the view follows changes and a restart")
    func scoresFromView() async throws {
        let watts = ["tvpc": 48.5, "wyse": 2.5, "rpi": 2.3]
        try await withCluster(nodes: Self.annotated(watts), lifecycle: Self.lifecycle) { cluster in
            let metrics = ExtenderMetrics()
            let view = try Self.watcher(cluster, metrics: metrics)
            try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest, nodeView: view, metrics: metrics) {
                extender in
                #expect(
                    await eventually(within: .seconds(60)) {
                        (try? await extender.metric("energy_monitor_extender_node_view_nodes")) == 3
                    })
                #expect(try await extender.metric("energy_monitor_extender_node_view_synced") == 1)
                let byName = try await extender.post("/scheduler/prioritize", try Self.names(["tvpc", "wyse", "rpi"]))
                #expect(byName.status == 200)
                let nodes = try watts.keys.sorted().map {
                    try ClusterPayloads.node(named: $0, annotations: view.current.annotations[$0] ?? [:])
                }
                let whole = try await extender.post(
                    "/scheduler/prioritize",
                    try ClusterPayloads.args(pod: ClusterPayloads.pod(profile: "sequential", weight: "0"), nodes: nodes)
                )
                #expect(
                    try Self.priorities(byName).sorted { $0.host < $1.host }
                        == (try Self.priorities(whole)).sorted { $0.host < $1.host })
                #expect(
                    try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="node_not_in_view"}"#)
                        == 0)

                // Changes arrive through the watch: a new reading, a new node, a removed node.
                try await cluster.simulator.annotateNode("wyse", ClusterPayloads.power(30).mapValues { Optional($0) })
                await cluster.simulator.addNode(SimulatedNode(name: "edge", annotations: ClusterPayloads.power(7)))
                try await cluster.simulator.removeNode("rpi")
                #expect(
                    await eventually(within: .seconds(60)) {
                        let current = view.current
                        return current.annotations["wyse"]?["energy.thesis.io/current-watts"] == "30.00"
                            && current.annotations["edge"] != nil && current.annotations["rpi"] == nil
                    }, "\(view.current)")
                // Only the power annotations are kept of a node.
                #expect(view.current.annotations["edge"]?.keys.allSatisfy { $0.hasPrefix("energy.thesis.io/") } == true)

                // A restart: the watch's version is gone, the view lists again and stays current.
                try await cluster.simulator.restart(downtime: .milliseconds(300))
                await cluster.simulator.addNode(SimulatedNode(name: "late", annotations: ClusterPayloads.power(9)))
                #expect(await eventually(within: .seconds(120)) { view.current.annotations["late"] != nil })
                #expect(view.current.isSynced)
                // A name the view does not know is scored without power and reported.
                #expect(
                    try await extender.post("/scheduler/prioritize", try Self.names(["tvpc", "ghost"])).status == 200)
                #expect(
                    try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="node_not_in_view"}"#)
                        == 1)
            }
        }
    }

    @Test("a view that may not list nodes says why (with the RBAC file) and keeps trying; scoring goes on without it")
    func forbidden() async throws {
        try await withCluster(nodes: Self.annotated(["tvpc": 48.5]), lifecycle: Self.lifecycle) { cluster in
            await cluster.simulator.forbid("list", "nodes")
            let metrics = ExtenderMetrics()
            let view = try Self.watcher(cluster, metrics: metrics, restartDelay: .milliseconds(200))
            try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest, nodeView: view, metrics: metrics) {
                extender in
                #expect(await eventually(within: .seconds(60)) { view.current.problem != nil })
                let problem = view.current.problem ?? ""
                #expect(
                    problem.contains("403") && problem.contains("kubectl apply -f k8s/scheduler/rbac.yaml"),
                    "\(problem)")
                let response = try await extender.post("/scheduler/prioritize", try Self.names(["tvpc"]))
                #expect(response.status == 200)
                #expect(
                    try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="node_not_in_view"}"#)
                        == 1)
                await cluster.simulator.allow("list", "nodes")
                #expect(await eventually(within: .seconds(60)) { view.current.isSynced })
            }
        }
    }

    @Test("the oversized-call warning: the first at once, then at most one a minute with how many more there were")
    func oversizedLogOncePerMinute() {
        let logs = LogRecorder()
        let logger = Logger(label: "oversized") { _ in logs }
        let log = OversizedCallLog()
        let start = ContinuousClock.now
        for seconds in [0, 10, 30, 59, 61, 65] {
            log.record(
                .prioritize, bytes: 3_000_000, nodes: 412, limit: 2 << 20, logger: logger,
                now: start + .seconds(seconds))
        }
        let lines = logs.entries.map(\.message)
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.hasPrefix("prioritize call of 3000000 bytes with 412 Node objects refused") == true)
        #expect(lines.last?.hasSuffix("; 3 more such calls since the last report") == true, "\(lines)")
    }

    @Test("Node objects are counted across chunk boundaries without keeping the body")
    func nodeCounter() throws {
        let node = #"{"status":{"nodeInfo":{"kubeletVersion":"v1.33.4"}}}"#
        let body = Array(String(repeating: node, count: 50).utf8)
        for size in [1, 7, 16, 4096] {
            var counter = NodeObjectCounter()
            var index = 0
            while index < body.count {
                counter.feed(body[index..<min(index + size, body.count)])
                index += size
            }
            #expect(counter.count == 50, "chunks of \(size)")
            #expect(counter.bytes == body.count)
        }
    }

    @Test("the idle timeout outlasts Go's 90 s keep-alive, so the scheduler's client closes first")
    func idleTimeout() {
        #expect(ExtenderServer.Configuration.defaultIdleTimeout > .seconds(90))
        #expect(ExtenderServer.Configuration(listen: .init(host: "127.0.0.1", port: 0)).stallTimeout == .seconds(15))
    }
}

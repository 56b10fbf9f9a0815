import Foundation
import JSON
import Synchronization
import Testing
import TestSupport

@testable import Scoring

/// Collects what the handler reports through `onDiagnostics`.
private final class DiagnosticsSink: Sendable {
    private let storage = Mutex<[ScoringDiagnostic]>([])
    var reasons: [ScoringDiagnostic.Reason] { storage.withLock { $0.map(\.reason) } }
    var all: [ScoringDiagnostic] { storage.withLock { $0 } }
    func record(_ diagnostics: [ScoringDiagnostic]) { storage.withLock { $0 += diagnostics } }
}

@Suite("ExtenderHandler")
struct ExtenderHandlerTests {
    static let now = Date(timeIntervalSince1970: 1_769_947_200)
    static let power = PowerAnnotations()

    /// The thesis `sequential` profile under the node names of the thesis cluster.
    static let knowledgeBase = try! KnowledgeBase(profiles: [
        EnergyScorerTests.sequential,
        Profile(
            name: "gpu-only",
            entries: [
                ProfileEntry(nodeName: "tvpc-gpu", performanceRate: 10, powerConsumptionWatts: 90, idlePowerWatts: 50)
            ]
        ),
    ])

    static func pod(
        name: String = "ml-preprocessing-job-x",
        profile: String? = "sequential",
        weight: String? = "0.0",
        optIn: Bool = true
    ) -> ExtenderPod {
        var labels: [String: String] = optIn ? ["app": "ml-workflow"] : ["app": "web"]
        labels["workload-profile"] = profile
        var annotations: [String: String] = [:]
        annotations["scheduler.policy/performance-weight"] = weight
        return ExtenderPod(
            metadata: ObjectMetadata(name: name, namespace: "default", labels: labels, annotations: annotations))
    }

    /// The thesis cluster with tvpc and dgoh-wyze freshly annotated and rpi's reading 2 min old.
    static var clusterNodes: ExtenderNodeList {
        ExtenderNodeList(items: [
            ExtenderNode(name: "dgoh-wyze", annotations: power.annotations(watts: 2.5, at: now.addingTimeInterval(-3))),
            ExtenderNode(name: "rpi", annotations: power.annotations(watts: 2.3, at: now.addingTimeInterval(-120))),
            ExtenderNode(name: "tvpc", annotations: power.annotations(watts: 48.5, at: now.addingTimeInterval(-1))),
        ])
    }

    static func body(_ args: ExtenderArgs) throws -> Data {
        try JSONEncoder().encode(args)
    }

    static func priorities(_ data: Data) throws -> [HostPriority] {
        try JSONDecoder().decode([HostPriority].self, from: data)
    }

    static func filterResult(_ data: Data) throws -> ExtenderFilterResult {
        try JSONDecoder().decode(ExtenderFilterResult.self, from: data)
    }

    fileprivate func makeHandler(_ sink: DiagnosticsSink) -> ExtenderHandler {
        ExtenderHandler(knowledgeBase: Self.knowledgeBase, onDiagnostics: { sink.record($0) })
    }

    // MARK: Built from node objects carrying the power annotations

    @Test("prioritize scores annotated nodes 0...10 and falls back to idle power for a stale one")
    func prioritizeAnnotatedNodes() throws {
        let sink = DiagnosticsSink()
        let args = ExtenderArgs(pod: Self.pod(weight: "0.0"), nodes: Self.clusterNodes, nodeNames: nil)
        let (status, body) = makeHandler(sink).prioritize(body: try Self.body(args), now: Self.now)
        #expect(status == 200)
        // dgoh-wyze: 100 (thesis row p6292); rpi: stale, so P_proj = 2.80 W -> NormEff 17.4 -> 17;
        // tvpc: 10 (thesis row p6292, tvpc-cpu beats tvpc-gpu).
        #expect(
            try Self.priorities(body) == [
                HostPriority(host: "dgoh-wyze", score: 10),
                HostPriority(host: "rpi", score: 2),
                HostPriority(host: "tvpc", score: 1),
            ])
        #expect(sink.reasons == [.powerStale])
        #expect(sink.all.first?.pod == "ml-preprocessing-job-x")
        #expect(sink.all.first?.node == "rpi")
    }

    @Test("the response is a HostPriorityList with Go field names")
    func prioritizeBytes() throws {
        let args = ExtenderArgs(pod: Self.pod(weight: "1"), nodes: Self.clusterNodes, nodeNames: nil)
        let (_, body) = makeHandler(DiagnosticsSink()).prioritize(body: Array(try Self.body(args)), now: Self.now)
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"[{"Host":"dgoh-wyze","Score":6},{"Host":"rpi","Score":1},{"Host":"tvpc","Score":10}]"#
        )
    }

    @Test("the weight annotation moves the ranking from energy to performance")
    func weightMatters() throws {
        let handler = makeHandler(DiagnosticsSink())
        func winner(_ weight: String) throws -> String? {
            let args = ExtenderArgs(pod: Self.pod(weight: weight), nodes: Self.clusterNodes, nodeNames: nil)
            let (priorities, _) = handler.prioritize(args, now: Self.now)
            return priorities.max { $0.score < $1.score }?.host
        }
        #expect(try winner("0") == "dgoh-wyze")
        #expect(try winner("1") == "tvpc")
    }

    @Test("pods that do not opt in get the same neutral score everywhere and pass the filter")
    func neutralForOtherPods() throws {
        let sink = DiagnosticsSink()
        let handler = makeHandler(sink)
        let args = ExtenderArgs(pod: Self.pod(optIn: false), nodes: Self.clusterNodes, nodeNames: nil)
        let (status, body) = handler.prioritize(body: try Self.body(args), now: Self.now)
        #expect(status == 200)
        #expect(try Self.priorities(body).map(\.score) == [0, 0, 0])
        let filtered = try Self.filterResult(handler.filter(body: try Self.body(args)).body)
        #expect(filtered.nodes == Self.clusterNodes)
        #expect(filtered.failedNodes.isEmpty)
        #expect(sink.all.isEmpty)
    }

    @Test("an unknown or missing profile is neutral and reported")
    func unknownProfile() throws {
        for (pod, reason) in [
            (Self.pod(profile: "rendering"), ScoringDiagnostic.Reason.profileUnknown),
            (Self.pod(profile: nil), .profileMissing),
        ] {
            let sink = DiagnosticsSink()
            let handler = makeHandler(sink)
            let args = ExtenderArgs(pod: pod, nodes: Self.clusterNodes, nodeNames: nil)
            #expect(
                try Self.priorities(handler.prioritize(body: try Self.body(args), now: Self.now).body).map(\.score) == [
                    0, 0, 0,
                ])
            let filtered = try Self.filterResult(handler.filter(body: try Self.body(args)).body)
            #expect(filtered.nodes?.items.count == 3)
            #expect(sink.reasons == [reason, reason])  // once per call
        }
    }

    @Test("a node no entry serves fails the filter with a reason and scores 0 with a diagnostic")
    func driftedNode() throws {
        let sink = DiagnosticsSink()
        let handler = makeHandler(sink)
        var items = Self.clusterNodes.items
        items[0] = ExtenderNode(name: "wyse", annotations: Self.power.annotations(watts: 2.5, at: Self.now))
        let args = ExtenderArgs(pod: Self.pod(), nodes: ExtenderNodeList(items: items), nodeNames: nil)

        let filtered = try Self.filterResult(handler.filter(body: try Self.body(args)).body)
        #expect(filtered.nodes?.items.map(\.name) == ["rpi", "tvpc"])
        #expect(filtered.failedNodes == ["wyse": "no entry of energy profile \"sequential\" serves this node"])
        #expect(filtered.error == "")
        #expect(sink.reasons == [.unmatchedNode])

        let priorities = try Self.priorities(handler.prioritize(body: try Self.body(args), now: Self.now).body)
        #expect(priorities.first == HostPriority(host: "wyse", score: 0))
        #expect(sink.reasons == [.unmatchedNode, .unmatchedNode, .powerStale, .unmatchedEntry])
    }

    @Test("a profile served by one variant filters out the other nodes")
    func profileServedByOneNode() throws {
        let args = ExtenderArgs(pod: Self.pod(profile: "gpu-only"), nodes: Self.clusterNodes, nodeNames: nil)
        let (result, diagnostics) = makeHandler(DiagnosticsSink()).filter(args)
        #expect(result.nodes?.items.map(\.name) == ["tvpc"])
        #expect(result.failedNodes.keys.sorted() == ["dgoh-wyze", "rpi"])
        #expect(diagnostics.map(\.reason) == [.unmatchedNode, .unmatchedNode])
    }

    @Test("NodeNames only (nodeCacheCapable): scored from the knowledge base alone, answered in NodeNames")
    func nodeNamesOnly() throws {
        let sink = DiagnosticsSink()
        let handler = makeHandler(sink)
        let args = ExtenderArgs(
            pod: Self.pod(profile: "gpu-only", weight: "0.5"), nodes: nil, nodeNames: ["tvpc", "rpi"])
        let (status, body) = handler.prioritize(body: try Self.body(args), now: Self.now)
        #expect(status == 200)
        let expected = EnergyScorer().score(
            profile: try Self.knowledgeBase.profile(named: "gpu-only"),
            weight: 0.5,
            nodes: [NodeSnapshot(name: "tvpc", liveWatts: nil)]
        )
        // Without live power, P_proj = 90 W: eff = 10 / 90, maxE = 10 / 90 -> NormEff 100, NormPerf 100.
        #expect(expected.nodes[0].score == 100)
        #expect(
            try Self.priorities(body) == [HostPriority(host: "tvpc", score: 10), HostPriority(host: "rpi", score: 0)])
        #expect(sink.reasons == [.powerMissing, .powerMissing, .unmatchedNode])

        let filtered = try Self.filterResult(handler.filter(body: try Self.body(args)).body)
        #expect(filtered.nodes == nil)
        #expect(filtered.nodeNames == ["tvpc"])
        #expect(filtered.failedNodes.keys.sorted() == ["rpi"])
    }

    @Test(
        "malformed bodies get 400 and one line",
        arguments: [
            ("", "bad ExtenderArgs: malformed JSON ("),
            ("{not json", "bad ExtenderArgs: malformed JSON ("),
            ("{}", "bad ExtenderArgs: Pod: missing"),
            (
                #"{"Pod":{"metadata":{"name":"p"}},"Nodes":null,"NodeNames":null}"#,
                "bad ExtenderArgs: neither Nodes nor NodeNames given"
            ),
            (
                #"{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":[{"metadata":{}}]}}"#,
                "bad ExtenderArgs: Nodes.items[0].metadata.name: missing"
            ),
        ]
    )
    func malformed(body: String, prefix: String) {
        let handler = makeHandler(DiagnosticsSink())
        for (status, response) in [
            handler.prioritize(body: Data(body.utf8), now: Self.now),
            handler.filter(body: Data(body.utf8)),
        ] {
            #expect(status == 400)
            let text = String(decoding: response, as: UTF8.self)
            #expect(text.hasPrefix(prefix), "\(text)")
            #expect(text.filter { $0 == "\n" }.count == 1 && text.hasSuffix("\n"))
            #expect(ExtenderHandler.contentType(forStatus: status) == "text/plain; charset=utf-8")
        }
    }

    // MARK: The shared Kubernetes fixtures

    @Test(
        "every ExtenderArgs fixture: neutral scores for pods that do not opt in, every node passes",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent"),
        arguments: [
            ("extender-args-upstream-types_test.json", ["nodename"]),
            ("extender-args-derived-tas-twoNodeArgument.json", ["node A", "node B"]),
            ("extender-args-composed-from-k9s-fixtures.json", ["minikube"]),
        ]
    )
    func fixtureArgs(file: String, hosts: [String]) throws {
        let handler = makeHandler(DiagnosticsSink())
        let data = try TestPaths.kubernetesFixture(file)
        let (status, body) = handler.prioritize(body: data, now: Self.now)
        #expect(status == 200)
        #expect(try Self.priorities(body) == hosts.map { HostPriority(host: $0, score: ExtenderHandler.neutralScore) })

        let (filterStatus, filterBody) = handler.filter(body: data)
        #expect(filterStatus == 200)
        let result = try Self.filterResult(filterBody)
        let request = try JSONDecoder().decode(ExtenderArgs.self, from: data)
        // The node objects come back whole and unchanged, and NodeNames echoes the request.
        #expect(result.nodes == request.nodes)
        #expect(result.nodeNames == request.nodeNames)
        #expect(result.failedNodes.isEmpty)
        #expect(result.error == "")
    }

    @Test(
        "the real minikube node and nginx pod, opted in and annotated, are scored",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func annotatedFixture() throws {
        // Add the opt-in labels to the captured pod and power annotations to the captured node.
        var json = try JSONDecoder().decode(
            JSONValue.self, from: TestPaths.kubernetesFixture("extender-args-composed-from-k9s-fixtures.json"))
        json = try Self.setting(
            json, ["Pod", "metadata", "labels"],
            to: .object([
                "app": .string("ml-workflow"), "workload-profile": .string("training"),
            ]))
        json = try Self.setting(
            json, ["Pod", "metadata", "annotations", "scheduler.policy/performance-weight"], to: .string("0.5"))
        json = try Self.setting(
            json, ["Nodes", "items", "0", "metadata", "annotations", "energy.thesis.io/current-watts"],
            to: .string("12.00"))
        json = try Self.setting(
            json, ["Nodes", "items", "0", "metadata", "annotations", "energy.thesis.io/last-updated"],
            to: .string("1769947190"))
        let body = try JSONEncoder().encode(json)

        let knowledgeBase = try KnowledgeBase(
            yaml: """
                training:
                  - {nodeName: minikube-cpu, performanceRate: 50, powerConsumptionWatts: 20, idlePowerWatts: 10}
                  - {nodeName: big-gpu, performanceRate: 100, powerConsumptionWatts: 100, idlePowerWatts: 20}
                """)
        let sink = DiagnosticsSink()
        let handler = ExtenderHandler(knowledgeBase: knowledgeBase, onDiagnostics: { sink.record($0) })
        // live 12 W is not above max(1.2 * 10, 10 + 2) = 12, so no penalty; P_proj = 12 + 10 = 22 W;
        // NormPerf = 100 * 50 / 100 = 50; NormEff = 100 * (50 / 22) / (100 / 100 vs 50 / 20 -> 2.5) = 90.9;
        // score = 0.5 * 50 + 0.5 * 90.9 = 70.45 -> 70 -> extender (70 + 5) / 10 = 7.
        let (status, response) = handler.prioritize(body: body, now: Self.now)
        #expect(status == 200)
        #expect(try Self.priorities(response) == [HostPriority(host: "minikube", score: 7)])
        #expect(sink.reasons == [.unmatchedEntry])  // big-gpu serves no node of this cluster

        let result = try Self.filterResult(handler.filter(body: body).body)
        #expect(result.nodes?.items.map(\.name) == ["minikube"])
        #expect(result.nodes?.items.first?.object["status"]?["nodeInfo"]?["kubeletVersion"] == .string("v1.17.0"))
    }

    @Test(
        "the captured simulator nodes, filtered for an opted-in pod, keep the node the profile serves",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func capturedNodesFiltered() throws {
        let captured = try JSONDecoder().decode(
            ExtenderFilterResult.self,
            from: TestPaths.kubernetesFixture("extender-filter-result-captured-simulator.json")
        )
        let knowledgeBase = try KnowledgeBase(
            yaml: """
                inference:
                  - {nodeName: node-sc9ns-cpu, performanceRate: 5, powerConsumptionWatts: 20, idlePowerWatts: 10}
                """)
        let handler = ExtenderHandler(knowledgeBase: knowledgeBase)
        let args = ExtenderArgs(pod: Self.pod(profile: "inference"), nodes: captured.nodes, nodeNames: nil)
        let result = try Self.filterResult(handler.filter(body: try Self.body(args)).body)
        #expect(result.nodes?.items == captured.nodes.map { Array($0.items.prefix(1)) })
        #expect(result.failedNodes.keys.sorted() == ["node-pwzdq"])
        #expect(result.failedAndUnresolvableNodes == nil)
    }

    /// Returns `json` with the value at `path` replaced, creating objects on the way.
    static func setting(_ json: JSONValue, _ path: [String], to value: JSONValue) throws -> JSONValue {
        guard let key = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch json {
        case .array(var elements):
            let index = try #require(Int(key))
            elements[index] = try setting(elements[index], rest, to: value)
            return .array(elements)
        case .object(var members):
            members[key] = try setting(members[key] ?? .object([:]), rest, to: value)
            return .object(members)
        default:
            return try setting(.object([:]), path, to: value)
        }
    }
}

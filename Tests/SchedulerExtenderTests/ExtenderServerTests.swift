import CurlClient
import Foundation
import SchedulerExtender
import Scoring
import Testing
import TestSupport

@Suite(
    "Extender over HTTP",
    .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent: payload tests skipped")
)
struct ExtenderServerTests {
    static func priorities(_ response: CurlClient.HTTPResponse) throws -> [HostPriority] {
        try JSONDecoder().decode([HostPriority].self, from: Data(response.body))
    }

    @Test("prioritize ranks tvpc, wyse and rpi from annotated Node objects as the thesis plugin did")
    func prioritizeNodeObjects() async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest) { extender in
            // Thesis decision ml-preprocessing-job-p6292: live 48.50 / 2.50 / 2.30 W at weight 0
            // gave tvpc 10, dgoh-wyze 100, rpi 17 -> extender scores 1, 10, 2.
            let nodes = [
                try ClusterPayloads.node(named: "tvpc", annotations: ClusterPayloads.power(48.5)),
                try ClusterPayloads.node(named: "wyse", annotations: ClusterPayloads.power(2.5)),
                try ClusterPayloads.node(named: "rpi", annotations: ClusterPayloads.power(2.3)),
            ]
            let energy = try await extender.post(
                "/scheduler/prioritize",
                try ClusterPayloads.args(pod: ClusterPayloads.pod(profile: "sequential", weight: "0.0"), nodes: nodes)
            )
            #expect(energy.status == 200)
            #expect(energy.header("Content-Type") == "application/json")
            #expect(
                try Self.priorities(energy) == [
                    HostPriority(host: "tvpc", score: 1), HostPriority(host: "wyse", score: 10),
                    HostPriority(host: "rpi", score: 2),
                ])
            // Performance only: tvpc-cpu is the profile's best (100), wyse 741.07 / 1184.01 = 62.6 %,
            // rpi 6.1 %.
            let performance = try await extender.post(
                "/scheduler/prioritize",
                try ClusterPayloads.args(pod: ClusterPayloads.pod(profile: "sequential", weight: "1"), nodes: nodes)
            )
            #expect(
                try Self.priorities(performance) == [
                    HostPriority(host: "tvpc", score: 10), HostPriority(host: "wyse", score: 6),
                    HostPriority(host: "rpi", score: 1),
                ])
            #expect(
                try await extender.metric(#"energy_monitor_extender_requests_total{endpoint="prioritize",code="200"}"#)
                    == 2)
            for reason in ScoringDiagnostic.Reason.allCases {
                #expect(
                    try await extender.metric(
                        #"energy_monitor_scoring_diagnostics_total{reason="\#(reason.rawValue)"}"#) == 0,
                    "\(reason.rawValue)"
                )
            }
        }
    }

    @Test("a stale annotation falls back to idle power and is counted by reason")
    func staleAnnotationCounted() async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest) { extender in
            let nodes = [
                try ClusterPayloads.node(named: "tvpc", annotations: ClusterPayloads.power(48.5)),
                try ClusterPayloads.node(named: "wyse", annotations: ClusterPayloads.power(2.5)),
                try ClusterPayloads.node(named: "rpi", annotations: ClusterPayloads.power(9.0, age: 120)),
                try ClusterPayloads.node(named: "minikube"),
            ]
            let response = try await extender.post(
                "/scheduler/prioritize",
                try ClusterPayloads.args(pod: ClusterPayloads.pod(profile: "sequential", weight: "0"), nodes: nodes)
            )
            #expect(response.status == 200)
            // rpi's 9 W are ignored (2 min old): P_proj = 2.80 W, NormEff 17.4 -> 17 -> 2.
            // minikube has no knowledge-base entry (and no annotations): 0.
            #expect(try Self.priorities(response).map(\.score) == [1, 10, 2, 0])
            #expect(try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="power_stale"}"#) == 1)
            #expect(
                try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="power_missing"}"#) == 1)
            #expect(
                try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="unmatched_node"}"#) == 1)
        }
    }

    @Test(
        "upstream and captured ExtenderArgs are answered; pods that do not opt in score 0 and pass everywhere",
        arguments: [
            "extender-args-upstream-types_test.json", "extender-args-derived-tas-twoNodeArgument.json",
            "extender-args-composed-from-k9s-fixtures.json",
        ]
    )
    func fixturePayloads(name: String) async throws {
        let body = try TestPaths.kubernetesFixture(name)
        let sent = try ClusterPayloads.object(body)
        let sentNodes = ((sent["Nodes"] as? [String: Any])?["items"] as? [[String: Any]] ?? []).compactMap {
            ($0["metadata"] as? [String: Any])?["name"] as? String
        }
        let sentNames = sent["NodeNames"] as? [String]
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest) { extender in
            let prioritized = try await extender.post("/scheduler/prioritize", Array(body))
            #expect(prioritized.status == 200)
            #expect(try Self.priorities(prioritized) == sentNodes.map { HostPriority(host: $0, score: 0) })

            let filtered = try await extender.post("/scheduler/filter", Array(body))
            #expect(filtered.status == 200)
            let result = try JSONDecoder().decode(ExtenderFilterResult.self, from: Data(filtered.body))
            #expect(result.failedNodes.isEmpty)
            #expect(result.nodes?.items.map(\.name) == sentNodes)
            #expect(result.nodeNames == sentNames)
            #expect(result.error == "")
        }
    }

    @Test("filter fails the nodes no entry of the pod's profile serves and hands the others back intact")
    func filterUnservedNodes() async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest) { extender in
            let tvpc = try ClusterPayloads.node(named: "tvpc", annotations: ClusterPayloads.power(48.5))
            let response = try await extender.post(
                "/scheduler/filter",
                try ClusterPayloads.args(
                    pod: ClusterPayloads.pod(profile: "training", weight: "0.5"),
                    nodes: [try ClusterPayloads.node(named: "minikube"), tvpc]
                )
            )
            #expect(response.status == 200)
            let body = try ClusterPayloads.object(Data(response.body))
            let failed = try #require(body["FailedNodes"] as? [String: String])
            #expect(Array(failed.keys) == ["minikube"])
            #expect(failed["minikube"]?.contains("training") == true)
            let items = try #require((body["Nodes"] as? [String: Any])?["items"] as? [[String: Any]])
            #expect(items.count == 1)
            // The passing node comes back as sent, status and all, not just its metadata.
            #expect(NSDictionary(dictionary: items[0]) == NSDictionary(dictionary: tvpc))
            #expect(
                try await extender.metric(#"energy_monitor_scoring_diagnostics_total{reason="unmatched_node"}"#) == 1)
            #expect(
                try await extender.metric(#"energy_monitor_extender_requests_total{endpoint="filter",code="200"}"#) == 1
            )
        }
    }

    @Test(
        "malformed bodies get 400 and one line saying why",
        arguments: [
            ("not json", "malformed JSON"),
            ("{}", "Pod: missing"),
            (#"{"Pod":{"metadata":{"name":"p"}}}"#, "neither Nodes nor NodeNames"),
            (#"{"Pod":{"metadata":{}},"NodeNames":["a"]}"#, "Pod.metadata.name: missing"),
            (#"{"Pod":{"metadata":{"name":"p"}},"NodeNames":[1]}"#, "NodeNames[0]"),
            ("[]", "ExtenderArgs"),
        ]
    )
    func malformedBodies(body: String, mentions: String) async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest) { extender in
            for endpoint in ["prioritize", "filter"] {
                let response = try await extender.post("/scheduler/\(endpoint)", Array(body.utf8))
                #expect(response.status == 400)
                #expect(response.header("Content-Type")?.hasPrefix("text/plain") == true)
                let text = String(decoding: response.body, as: UTF8.self)
                #expect(text.hasSuffix("\n"))
                #expect(text.dropLast().contains("\n") == false, "one line: \(text)")
                #expect(text.contains(mentions), "\(text)")
                #expect(
                    try await extender.metric(
                        #"energy_monitor_extender_requests_total{endpoint="\#(endpoint)",code="400"}"#)
                        == 1)
            }
        }
    }

    @Test("bodies over the limit get 413 without being scored")
    func bodyLimit() async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest, maxBodyBytes: 4096) { extender in
            let nodes = try (0..<8).map { try ClusterPayloads.node(named: "tvpc-\($0)") }
            let body = try ClusterPayloads.args(
                pod: ClusterPayloads.pod(profile: "sequential", weight: "0"), nodes: nodes)
            #expect(body.count > 4096)
            let response = try await extender.post("/scheduler/prioritize", body)
            #expect(response.status == 413)
            #expect(String(decoding: response.body, as: UTF8.self) == "request body larger than 4096 bytes\n")
            #expect(
                try await extender.metric(#"energy_monitor_extender_requests_total{endpoint="prioritize",code="413"}"#)
                    == 1)
            // A body under the limit on the same server still works.
            let small = try ClusterPayloads.args(
                pod: ClusterPayloads.pod(profile: "sequential", weight: "0"),
                nodes: [["metadata": ["name": "tvpc"]]]
            )
            #expect(try await extender.post("/scheduler/prioritize", small).status == 200)
        }
    }

    @Test("healthz answers ok and metrics list every diagnostic reason and reload result from the start")
    func healthAndMetrics() async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest) { extender in
            let health = try await extender.get("/healthz")
            #expect(health.status == 200)
            #expect(String(decoding: health.body, as: UTF8.self) == "ok\n")
            let metrics = try await extender.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            let lines = Set(String(decoding: metrics.body, as: UTF8.self).split(separator: "\n").map(String.init))
            var expected: Set<String> = [
                #"energy_monitor_knowledge_base_reloads_total{result="ok"} 0"#,
                #"energy_monitor_knowledge_base_reloads_total{result="error"} 0"#,
                "energy_monitor_knowledge_base_generation 1.0",
                "energy_monitor_knowledge_base_valid 1.0",
                "# TYPE energy_monitor_scoring_diagnostics_total counter",
            ]
            for reason in ScoringDiagnostic.Reason.allCases {
                expected.insert(#"energy_monitor_scoring_diagnostics_total{reason="\#(reason.rawValue)"} 0"#)
            }
            for endpoint in ExtenderMetrics.Endpoint.allCases {
                for code in [200, 400, 413, 500, 503] {
                    expected.insert(
                        #"energy_monitor_extender_requests_total{endpoint="\#(endpoint.rawValue)",code="\#(code)"} 0"#)
                }
            }
            #expect(expected.subtracting(lines).isEmpty, "missing: \(expected.subtracting(lines).sorted())")
        }
    }
}

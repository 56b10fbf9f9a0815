import Foundation
import JSON
import Testing
import TestSupport

@testable import Scoring

@Suite("ExtenderArgs wire format")
struct ExtenderArgsTests {
    @Test(
        "decodes every ExtenderArgs fixture, tolerating everything it does not need",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent"),
        arguments: [
            ("extender-args-upstream-types_test.json", "podname", ["nodename"], ["node1"] as [String]?),
            ("extender-args-derived-tas-twoNodeArgument.json", "big pod", ["node A", "node B"], ["node A", "node B"]),
            ("extender-args-composed-from-k9s-fixtures.json", "nginx", ["minikube"], nil),
        ]
    )
    func fixtures(file: String, pod: String, nodes: [String], nodeNames: [String]?) throws {
        let args = try JSONDecoder().decode(ExtenderArgs.self, from: TestPaths.kubernetesFixture(file))
        #expect(args.pod.metadata.name == pod)
        #expect(args.nodes?.items.map(\.name) == nodes)
        #expect(args.nodeNames == nodeNames)
    }

    @Test(
        "labels and annotations of real pods and nodes are read",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func metadata() throws {
        let args = try JSONDecoder().decode(
            ExtenderArgs.self,
            from: TestPaths.kubernetesFixture("extender-args-composed-from-k9s-fixtures.json")
        )
        #expect(args.pod.metadata.namespace == "default")
        #expect(args.pod.metadata.annotations.keys.contains("kubectl.kubernetes.io/last-applied-configuration"))
        let node = try #require(args.nodes?.items.first)
        #expect(node.metadata.labels["kubernetes.io/hostname"] == "minikube")
        #expect(node.metadata.annotations["node.alpha.kubernetes.io/ttl"] == "0")
        // The whole node object is kept, not only what scoring reads.
        #expect(node.object["status"]?["nodeInfo"]?["kubeletVersion"] == .string("v1.17.0"))

        let tas = try JSONDecoder().decode(
            ExtenderArgs.self,
            from: TestPaths.kubernetesFixture("extender-args-derived-tas-twoNodeArgument.json")
        )
        #expect(tas.pod.metadata.labels == ["telemetry-policy": "test-policy"])
    }

    @Test("encodes with Go's field names and decodes back to the same value")
    func roundTrip() throws {
        let args = ExtenderArgs(
            pod: ExtenderPod(metadata: ObjectMetadata(name: "job", namespace: "ml", labels: ["app": "ml-workflow"])),
            nodes: ExtenderNodeList(items: [
                ExtenderNode(name: "tvpc", annotations: ["energy.thesis.io/current-watts": "48.50"])
            ]),
            nodeNames: nil
        )
        let data = try JSONEncoder().encode(args)
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(json["NodeNames"] == .null)
        #expect(json["Nodes"]?["items"]?["metadata"] == nil)  // items is an array
        #expect(json["Pod"]?["metadata"]?["name"] == .string("job"))
        #expect(try JSONDecoder().decode(ExtenderArgs.self, from: data) == args)
    }

    @Test(
        "shape errors name the path in one line",
        arguments: [
            ("[]", "ExtenderArgs: expected an object, found an array"),
            ("{}", "Pod: missing"),
            (#"{"Pod":null}"#, "Pod: missing"),
            (#"{"Pod":{}}"#, "Pod.metadata: missing"),
            (#"{"Pod":{"metadata":{"name":7}}}"#, "Pod.metadata.name: expected a non-empty string"),
            (
                #"{"Pod":{"metadata":{"name":"p","labels":{"a":1}}}}"#,
                "Pod.metadata.labels.a: expected a string, found a number"
            ),
            (
                #"{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":[{"metadata":{"name":"a"}},{}]}}"#,
                "Nodes.items[1].metadata: missing"
            ),
            (
                #"{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":{}}}"#,
                "Nodes.items: expected an array, found an object"
            ),
            (
                #"{"Pod":{"metadata":{"name":"p"}},"NodeNames":["a",null]}"#,
                "NodeNames[1]: expected a string, found null"
            ),
        ]
    )
    func shapeErrors(body: String, message: String) {
        #expect {
            _ = try ExtenderArgs(body: Data(body.utf8))
        } throws: { error in
            (error as? WireError)?.description == message
        }
    }

    @Test("more candidate nodes than the largest Kubernetes cluster are refused before they are read")
    func candidateLimit() throws {
        func body(items: Int, names: Int) -> Data {
            let nodes = (0..<items).map { #"{"metadata":{"name":"n\#($0)"}}"# }.joined(separator: ",")
            let list = (0..<names).map { "\"m\($0)\"" }.joined(separator: ",")
            return Data(#"{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":[\#(nodes)]},"NodeNames":[\#(list)]}"#.utf8)
        }
        let most = try ExtenderArgs(body: body(items: 1, names: ExtenderArgs.maxCandidates - 1))
        #expect((most.nodes?.items.count ?? 0) + (most.nodeNames?.count ?? 0) == 5_000)
        let error = try #require(throws: WireError.self) { try ExtenderArgs(body: body(items: 1, names: 5_000)) }
        #expect(error.description == "5001 candidate nodes; at most 5000, the largest cluster Kubernetes supports")
    }

    @Test("malformed JSON is one line")
    func malformedJSON() throws {
        let error = try #require(throws: WireError.self) { try ExtenderArgs(body: Data("{\"Pod\": ".utf8)) }
        #expect(error.description.hasPrefix("malformed JSON ("))
        #expect(!error.description.contains("\n"))
    }
}

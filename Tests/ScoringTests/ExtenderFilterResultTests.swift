import Foundation
import JSON
import Testing
import TestSupport

@testable import Scoring

@Suite("ExtenderFilterResult wire format")
struct ExtenderFilterResultTests {
    @Test(
        "decodes the upstream fixture with every field set",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func upstream() throws {
        let result = try JSONDecoder().decode(
            ExtenderFilterResult.self,
            from: TestPaths.kubernetesFixture("extender-filter-result-upstream-types_test.json")
        )
        #expect(result.nodes?.items.map(\.name) == ["nodename"])
        #expect(result.nodeNames == ["node1"])
        #expect(result.failedNodes == ["foo": "bar"])
        #expect(result.failedAndUnresolvableNodes == ["baz": "qux"])
        #expect(result.error == "myerror")
    }

    @Test(
        "decodes what a real scheduler round trip stored, null fields included",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func captured() throws {
        let data = try TestPaths.kubernetesFixture("extender-filter-result-captured-simulator.json")
        let result = try JSONDecoder().decode(ExtenderFilterResult.self, from: data)
        #expect(result.nodes?.items.map(\.name) == ["node-sc9ns", "node-pwzdq"])
        #expect(result.nodeNames == nil)
        #expect(result.failedNodes.isEmpty)
        #expect(result.failedAndUnresolvableNodes == nil)
        #expect(result.error == "")
        // Re-encoding keeps the node objects and the Go shape, so the values are equal as JSON.
        let reencoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(result))
        #expect(reencoded == (try JSONDecoder().decode(JSONValue.self, from: data)))
    }

    @Test("encodes absent fields as null like Go, and accepts a minimal body")
    func goShape() throws {
        let encoded = try JSONDecoder().decode(
            JSONValue.self,
            from: JSONEncoder().encode(ExtenderFilterResult(nodes: nil, nodeNames: ["a"], failedNodes: ["b": "why"]))
        )
        #expect(
            encoded
                == .object([
                    "Nodes": .null, "NodeNames": .array([.string("a")]), "FailedNodes": .object(["b": .string("why")]),
                    "FailedAndUnresolvableNodes": .null, "Error": .string(""),
                ])
        )
        let minimal = try JSONDecoder().decode(ExtenderFilterResult.self, from: Data(#"{"FailedNodes":null}"#.utf8))
        #expect(minimal == ExtenderFilterResult(nodes: nil, nodeNames: nil))
    }
}

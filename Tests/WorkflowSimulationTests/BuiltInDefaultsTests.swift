import Foundation
import TestSupport
import Testing
import Workflow

@testable import WorkflowSimulation

/// The workflow and knowledge base built into the binary are the repository's files, byte for
/// byte, and load.
@Suite("Built-in defaults")
struct BuiltInDefaultsTests {
    @Test(
        "the built-in thesis workflow is workflows/thesis-workflow.yaml and loads with its three phases"
    )
    func workflow() throws {
        let file = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("workflows/thesis-workflow.yaml"),
            encoding: .utf8)
        #expect(BuiltInDefaults.thesisWorkflowText == file)
        let definition = try BuiltInDefaults.thesisWorkflow()
        #expect(definition.phases.map(\.name) == ["preprocessing", "train", "inference"])
        #expect(definition.phases.allSatisfy { $0.work != nil })
    }

    @Test(
        "the built-in knowledge base is k8s/scheduler/knowledge-base.yaml and names the reference cluster"
    )
    func knowledgeBase() throws {
        let file = try String(contentsOfFile: TestPaths.knowledgeBaseManifest, encoding: .utf8)
        #expect(BuiltInDefaults.knowledgeBaseText == file)
        let nodes = Set(OfflineNode.nodes(of: try BuiltInDefaults.knowledgeBase()).map(\.name))
        #expect(nodes == ["tvpc", "wyse", "rpi"])
    }
}

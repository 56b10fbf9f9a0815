import Foundation
import TestSupport
import Testing

@testable import Workflow

/// The workflow file: the thesis's loads, images resolve per node, and every kind of bad
/// value is refused with its key path.
@Suite("Workflow file")
struct WorkflowDefinitionTests {
    static let thesisWorkflow = TestPaths.packageRoot.appendingPathComponent("workflows/thesis-workflow.yaml").path

    static let minimal = """
        name: demo
        phases:
          - name: only
            profile: training
            image: busybox:1.36
        """

    @Test("workflows/thesis-workflow.yaml: three phases in order, images per variant, the GPU build with its GPU")
    func thesisWorkflow() throws {
        let workflow = try WorkflowDefinition(contentsOfFile: Self.thesisWorkflow)
        #expect(workflow.name == "thesis")
        #expect(workflow.namespace == "ml-workflow")
        #expect(workflow.phases.map(\.name) == ["preprocessing", "train", "inference"])
        #expect(workflow.phases.map(\.profile) == ["sequential", "training", "inference"])
        #expect(workflow.nodeVariants["tvpc"] == ["gpu", "amd64"])
        let train = workflow.phases[1]
        let onGPU = try #require(train.image(for: "tvpc", variants: workflow.nodeVariants))
        #expect(onGPU.variant == "gpu")
        #expect(onGPU.image.resources.limits["nvidia.com/gpu"] == "1")
        #expect(onGPU.image.runtimeClassName == "nvidia")
        #expect(
            train.image(for: "wyse", variants: workflow.nodeVariants)?.image.reference.hasSuffix("amd64-noavx")
                == true)
        #expect(train.image(for: "rpi", variants: workflow.nodeVariants)?.variant == "armv7")
        // Preprocessing has no GPU build: tvpc runs its next variant.
        #expect(workflow.phases[0].image(for: "tvpc", variants: workflow.nodeVariants)?.variant == "amd64")
        // A node the file does not know has no image (no default given).
        #expect(train.image(for: "elsewhere", variants: workflow.nodeVariants) == nil)
        #expect(train.timeoutMilliseconds == 7_200_000)
        #expect(train.environment == ["PYTHONUNBUFFERED": "1"])
        #expect(workflow.volumes.count == 1 && train.volumeMounts.count == 1)
        #expect(workflow.phases.allSatisfy { $0.hasVariantImages })
    }

    @Test("a minimal file: the defaults")
    func minimal() throws {
        let workflow = try WorkflowDefinition(yaml: Self.minimal, file: "demo.yaml")
        #expect(workflow.namespace == "default")
        #expect(workflow.ttlSecondsAfterFinished == 3600)
        #expect(workflow.probeImage == WorkflowDefinition.defaultProbeImage)
        let phase = try #require(workflow.phases.first)
        #expect(phase.backoffLimit == 0 && phase.timeoutMilliseconds == nil && !phase.hasVariantImages)
        #expect(phase.image(for: "any", variants: [:])?.image.reference == "busybox:1.36")
    }

    @Test(
        "bad files are refused with the key path, in one line",
        arguments: [
            ("", "demo.yaml: is empty"),
            ("name: [", "demo.yaml: not valid YAML"),
            ("- a\n- b", "demo.yaml: must be a mapping"),
            ("phases: []", "demo.yaml: name: missing"),
            ("name: Demo\nphases: []", "demo.yaml: name: \"Demo\" must be a DNS label"),
            ("name: demo", "demo.yaml: phases: missing"),
            ("name: demo\nphases: []", "demo.yaml: phases: must be a non-empty list"),
            ("name: demo\nextra: 1\nphases: []", "demo.yaml: extra: unknown key (known: name, namespace, nodes"),
            ("name: demo\nnamespace: ML\nphases: []", "demo.yaml: namespace: \"ML\" is not a DNS label"),
            ("name: demo\nphases:\n  - profile: p\n    image: x", "demo.yaml: phases[0].name: missing"),
            ("name: demo\nphases:\n  - name: a\n    image: x", "demo.yaml: phases[0].profile: missing"),
            ("name: demo\nphases:\n  - name: a\n    profile: p", "demo.yaml: phases[0]: give image or images"),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    cmd: [a]",
                "demo.yaml: phases[0].cmd: unknown key"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n  - name: a\n    profile: p\n    image: x",
                "demo.yaml: phases[1].name: \"a\" is given twice"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: 'no spaces'\n    image: x",
                "demo.yaml: phases[0].profile: \"no spaces\" is not a label value"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: 'a b'",
                "demo.yaml: phases[0].image: \"a b\" is not an image reference"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    command: python3",
                "demo.yaml: phases[0].command: must be a list"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    command: []",
                "demo.yaml: phases[0].command: must name a program"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    timeout: 5",
                "demo.yaml: phases[0].timeout:"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    timeout: 10ms",
                "demo.yaml: phases[0].timeout: must be at least 1s"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    backoffLimit: -1",
                "demo.yaml: phases[0].backoffLimit: must be an integer in 0...100"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    resources: {limits: {memory: lots}}",
                "demo.yaml: phases[0].resources.limits.memory: \"lots\" is not a quantity"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    resources: {limit: {}}",
                "demo.yaml: phases[0].resources.limit: unknown key"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    image: x\n    env: {1X: y}",
                "demo.yaml: phases[0].env.1X: is not a variable name"
            ),
            (
                "name: demo\nphases:\n  - name: a\n    profile: p\n    images: {gpu: x}",
                "demo.yaml: phases[0].images.gpu: no node runs variant \"gpu\""
            ),
            ("name: demo\nnodes: {tvpc: []}\nphases: []", "demo.yaml: nodes.tvpc: list at least one variant"),
            ("name: demo\nnodes: {tvpc: [GPU]}\nphases: []", "demo.yaml: nodes.tvpc: \"GPU\" is not a variant name"),
            (
                "name: demo\nnodes: {tvpc: [gpu]}\nphases:\n  - name: a\n    profile: p\n    images: {gpu: {resources: {}}}",
                "demo.yaml: phases[0].images.gpu.image: missing"
            ),
            ("name: demo\nvolumes: [data]\nphases: []", "demo.yaml: volumes[0]: must be a mapping"),
            (
                "name: a-very-long-workflow-name-x\nphases:\n  - name: a-very-long-phase-name-that-is-long\n    profile: p\n    image: x",
                "is too long with workflow name"
            ),
            (
                "name: demo\nttlSecondsAfterFinished: 1e99\nphases: []",
                "demo.yaml: ttlSecondsAfterFinished: must be an integer"
            ),
            (
                "name: demo\nttlSecondsAfterFinished: 0\nphases: []",
                "demo.yaml: ttlSecondsAfterFinished: must be at least 60: with 0, Kubernetes deletes a finished Job"
            ),
        ]
    )
    func refused(yaml: String, message: String) {
        do {
            _ = try WorkflowDefinition(yaml: yaml, file: "demo.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.contains(message), "\(error.description) does not say \(message)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("a file that does not exist says so")
    func missingFile() {
        #expect(throws: WorkflowFileError(file: "/nope/w.yaml", keyPath: "", message: "cannot read: no such file")) {
            _ = try WorkflowDefinition(contentsOfFile: "/nope/w.yaml")
        }
    }
}

import AnnotationContract
import JSON
import Testing

@testable import Workflow

/// The Jobs the runner creates carry the workload contract, the run's labels and the
/// scheduler choice, and survive evictions without hiding failures.
@Suite("Job manifests")
struct JobManifestTests {
    static let workflow = try! WorkflowDefinition(
        yaml: """
            name: thesis
            nodes: {tvpc: [gpu, amd64]}
            volumes: [{name: data, emptyDir: {}}]
            phases:
              - name: train
                profile: training
                image: registry/train:amd64
                images: {gpu: {image: registry/train:cuda, runtimeClassName: nvidia, resources: {limits: {nvidia.com/gpu: 1}}}}
                command: [python3, train.py]
                args: ["--epochs", "3"]
                env: {B: "2", A: "1"}
                resources: {requests: {cpu: "1"}, limits: {memory: 1Gi}}
                volumeMounts: [{name: data, mountPath: /data}]
                backoffLimit: 2
            """, file: "t.yaml")

    @Test("the energy scheduler's Job: contract labels, weight annotation, schedulerName, run labels, failure policy")
    func energyJob() throws {
        let phase = Self.workflow.phases[0]
        let run = WorkflowRun(scheduler: .energy, weight: 0.25, startedMilliseconds: 0, id: "abcde")
        let job = JobManifest.phase(
            phase, of: Self.workflow, run: run, namespace: "ml", image: try #require(phase.image), pinnedNode: nil,
            timeoutMilliseconds: 600_000)
        #expect(job["metadata"]?["name"] == "thesis-train-abcde")
        #expect(job["metadata"]?["namespace"] == "ml")
        let template = try #require(job["spec"]?["template"])
        let labels = try #require(template["metadata"]?["labels"])
        #expect(labels[WorkloadContract.optInLabel]?.string == WorkloadContract.optInValue)
        #expect(labels[WorkloadContract.profileLabel] == "training")
        #expect(
            labels[WorkflowLabels.run] == "abcde" && labels[WorkflowLabels.phase] == "train"
                && labels[WorkflowLabels.workflow] == "thesis")
        #expect(template["metadata"]?["annotations"]?[WorkloadContract.weightAnnotation] == "0.25")
        let spec = try #require(template["spec"])
        #expect(spec["schedulerName"]?.string == "my-energy-scheduler")
        #expect(spec["restartPolicy"] == "Never")
        #expect(spec["affinity"] == nil)
        let container = try #require(spec["containers"]?[0])
        #expect(container["image"] == "registry/train:amd64")
        #expect(container["command"] == ["python3", "train.py"])
        #expect(container["args"] == ["--epochs", "3"])
        #expect(container["env"] == [["name": "A", "value": "1"], ["name": "B", "value": "2"]])
        #expect(container["resources"] == ["requests": ["cpu": "1"], "limits": ["memory": "1Gi"]])
        #expect(container["volumeMounts"] == [["name": "data", "mountPath": "/data"]])
        #expect(spec["volumes"] == [["name": "data", "emptyDir": [:]]])
        #expect(job["spec"]?["backoffLimit"] == 2)
        #expect(job["spec"]?["activeDeadlineSeconds"] == 660)
        #expect(job["spec"]?["ttlSecondsAfterFinished"] == 3600)
        #expect(job["spec"]?["podFailurePolicy"]?["rules"]?[0]?["action"] == "Ignore")
        #expect(job["spec"]?["podFailurePolicy"]?["rules"]?[0]?["onPodConditions"]?[0]?["type"] == "DisruptionTarget")
        #expect(
            JobManifest.podSelector(phase, run: run, probe: false)
                == "energy-monitor/run=abcde,energy-monitor/phase=train,!energy-monitor/probe")
    }

    @Test("the default scheduler's Job names no scheduler; a placed phase is pinned with its variant's image and GPU")
    func standardPinnedJob() throws {
        let phase = Self.workflow.phases[0]
        let run = WorkflowRun(scheduler: .standard, weight: 1, startedMilliseconds: 0, id: "fghij")
        let chosen = try #require(phase.image(for: "tvpc", variants: Self.workflow.nodeVariants))
        let job = JobManifest.phase(
            phase, of: Self.workflow, run: run, namespace: "ml", image: chosen.image, pinnedNode: "tvpc",
            timeoutMilliseconds: 1000)
        let spec = try #require(job["spec"]?["template"]?["spec"])
        #expect(spec["schedulerName"] == nil)
        #expect(spec["runtimeClassName"] == "nvidia")
        #expect(spec["containers"]?[0]?["image"] == "registry/train:cuda")
        #expect(spec["containers"]?[0]?["resources"]?["limits"] == ["memory": "1Gi", "nvidia.com/gpu": "1"])
        let term = spec["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?[
            "nodeSelectorTerms"]?[0]
        #expect(term?["matchFields"] == [["key": "metadata.name", "operator": "In", "values": ["tvpc"]]])
        #expect(job["spec"]?["template"]?["metadata"]?["annotations"]?[WorkloadContract.weightAnnotation] == "1.0")
    }

    @Test("the probe: the phase's scheduling inputs on the pause image, labelled as a probe")
    func probe() throws {
        let phase = Self.workflow.phases[0]
        let run = WorkflowRun(scheduler: .energy, weight: 0.5, startedMilliseconds: 0, id: "klmno")
        let job = JobManifest.probe(phase, of: Self.workflow, run: run, namespace: "ml", timeoutMilliseconds: 60_000)
        #expect(job["metadata"]?["name"] == "thesis-train-klmno-probe")
        let template = try #require(job["spec"]?["template"])
        #expect(template["metadata"]?["labels"]?[WorkflowLabels.probe] == "true")
        #expect(template["metadata"]?["labels"]?[WorkloadContract.profileLabel] == "training")
        #expect(template["spec"]?["schedulerName"] == "my-energy-scheduler")
        #expect(template["spec"]?["containers"]?[0]?["image"]?.string == WorkflowDefinition.defaultProbeImage)
        #expect(
            template["spec"]?["containers"]?[0]?["resources"] == [
                "requests": ["cpu": "1"], "limits": ["memory": "1Gi"],
            ])
        #expect(JobManifest.podSelector(phase, run: run, probe: true).hasSuffix(",energy-monitor/probe=true"))
    }

    @Test(
        "weights are written as the thesis wrote them",
        arguments: [(0.0, "0.0"), (0.25, "0.25"), (0.5, "0.5"), (1.0, "1.0"), (0.1, "0.1")])
    func weightText(weight: Double, text: String) {
        #expect(WorkflowRun.weightText(weight) == text)
    }

    @Test("run ids are DNS labels of five characters")
    func runIDs() {
        for _ in 0..<200 {
            let id = WorkflowRun.makeID()
            #expect(id.count == WorkflowRun.idLength)
            #expect(WorkflowReader.isDNSLabel(id) && id.first?.isLetter == true)
        }
    }
}

import AnnotationContract
import JSON

/// The Job the runner creates for a phase (or its placement probe), built once here.
///
/// Every Job and its pod carry the workload contract (`app=ml-workflow`, `workload-profile`,
/// the weight annotation) and the run's labels (`WorkflowLabels`); the pod names the energy
/// scheduler when the run uses it. `restartPolicy: Never` with `backoffLimit` from the phase
/// (default 0: a failing workload fails the run instead of being retried into the figures),
/// a `podFailurePolicy` that ignores disruptions (an evicted pod is replaced without counting
/// as a failure), `activeDeadlineSeconds` a minute beyond the phase timeout (the cluster
/// stops the Job even if the runner is gone), and `ttlSecondsAfterFinished`.
public enum JobManifest {
    /// The Job for `phase` of `run`, with `image`; `pinnedNode` adds a required node
    /// affinity on `metadata.name` (a phase placed by its probe).
    public static func phase(
        _ phase: WorkflowDefinition.Phase, of workflow: WorkflowDefinition, run: WorkflowRun, namespace: String,
        image: WorkflowDefinition.Image, pinnedNode: String?, timeoutMilliseconds: Int64
    ) -> JSONValue {
        var container: [String: JSONValue] = [
            "name": .string(phase.name), "image": .string(image.reference),
            "resources": phase.resources.merging(image.resources).json,
        ]
        if !phase.command.isEmpty { container["command"] = .array(phase.command.map { .string($0) }) }
        if !phase.args.isEmpty { container["args"] = .array(phase.args.map { .string($0) }) }
        if !phase.environment.isEmpty {
            container["env"] = .array(
                phase.environment.keys.sorted().map {
                    ["name": .string($0), "value": .string(phase.environment[$0] ?? "")]
                })
        }
        if !phase.volumeMounts.isEmpty { container["volumeMounts"] = .array(phase.volumeMounts) }
        var podSpec: [String: JSONValue] = ["restartPolicy": "Never", "containers": [.object(container)]]
        if !workflow.volumes.isEmpty { podSpec["volumes"] = .array(workflow.volumes) }
        if let runtime = image.runtimeClassName { podSpec["runtimeClassName"] = .string(runtime) }
        if let pinnedNode { podSpec["affinity"] = pinning(to: pinnedNode) }
        let name = run.jobName(workflow: workflow, phase: phase)
        let deadlineSeconds = max(1, (timeoutMilliseconds + 999) / 1000) + 60
        return job(
            name: name, namespace: namespace, labels: labels(phase, workflow, run), annotations: annotations(run),
            podSpec: podSpec, backoffLimit: phase.backoffLimit, deadlineSeconds: deadlineSeconds,
            ttlSeconds: workflow.ttlSecondsAfterFinished, run: run)
    }

    /// The placement probe of `phase`: the phase's scheduling inputs (labels, weight,
    /// resources, scheduler) on the tiny probe image, so that the scheduler picks the node
    /// the phase would get; the runner deletes it once it is bound.
    public static func probe(
        _ phase: WorkflowDefinition.Phase, of workflow: WorkflowDefinition, run: WorkflowRun, namespace: String,
        timeoutMilliseconds: Int64
    ) -> JSONValue {
        let container: [String: JSONValue] = [
            "name": "probe", "image": .string(workflow.probeImage), "resources": phase.resources.json,
        ]
        let podSpec: [String: JSONValue] = [
            "restartPolicy": "Never", "containers": [.object(container)], "terminationGracePeriodSeconds": 0,
        ]
        var labels = labels(phase, workflow, run)
        labels[WorkflowLabels.probe] = "true"
        return job(
            name: probeName(phase, of: workflow, run: run), namespace: namespace, labels: labels,
            annotations: annotations(run),
            podSpec: podSpec, backoffLimit: 0, deadlineSeconds: max(1, (timeoutMilliseconds + 999) / 1000),
            ttlSeconds: 60, run: run)
    }

    /// `<job>-probe`.
    public static func probeName(_ phase: WorkflowDefinition.Phase, of workflow: WorkflowDefinition, run: WorkflowRun)
        -> String
    {
        run.jobName(workflow: workflow, phase: phase) + "-probe"
    }

    /// The label selector of the pods of `phase` in `run` (probe or not).
    public static func podSelector(_ phase: WorkflowDefinition.Phase, run: WorkflowRun, probe: Bool) -> String {
        "\(WorkflowLabels.run)=\(run.id),\(WorkflowLabels.phase)=\(phase.name),"
            + (probe ? "\(WorkflowLabels.probe)=true" : "!\(WorkflowLabels.probe)")
    }

    private static func labels(_ phase: WorkflowDefinition.Phase, _ workflow: WorkflowDefinition, _ run: WorkflowRun)
        -> [String: String]
    {
        [
            WorkloadContract.optInLabel: WorkloadContract.optInValue, WorkloadContract.profileLabel: phase.profile,
            WorkflowLabels.workflow: workflow.name, WorkflowLabels.run: run.id, WorkflowLabels.phase: phase.name,
        ]
    }

    private static func annotations(_ run: WorkflowRun) -> [String: String] {
        [WorkloadContract.weightAnnotation: run.weightText, WorkflowLabels.scheduler: run.scheduler.rawValue]
    }

    private static func pinning(to node: String) -> JSONValue {
        [
            "nodeAffinity": [
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    "nodeSelectorTerms": [
                        ["matchFields": [["key": "metadata.name", "operator": "In", "values": [.string(node)]]]]
                    ]
                ]
            ]
        ]
    }

    private static func job(
        name: String, namespace: String, labels: [String: String], annotations: [String: String],
        podSpec: [String: JSONValue],
        backoffLimit: Int, deadlineSeconds: Int64, ttlSeconds: Int, run: WorkflowRun
    ) -> JSONValue {
        var podSpec = podSpec
        if let scheduler = run.scheduler.schedulerName { podSpec["schedulerName"] = .string(scheduler) }
        let metadata: JSONValue = [
            "labels": .object(labels.mapValues { .string($0) }),
            "annotations": .object(annotations.mapValues { .string($0) }),
        ]
        return [
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": [
                "name": .string(name), "namespace": .string(namespace), "labels": metadata["labels"] ?? [:],
                "annotations": metadata["annotations"] ?? [:],
            ],
            "spec": [
                "backoffLimit": .integer(Int64(backoffLimit)),
                "podFailurePolicy": [
                    "rules": [["action": "Ignore", "onPodConditions": [["type": "DisruptionTarget"]]]]
                ],
                "activeDeadlineSeconds": .integer(deadlineSeconds),
                "ttlSecondsAfterFinished": .integer(Int64(ttlSeconds)),
                "template": ["metadata": metadata, "spec": .object(podSpec)],
            ],
        ]
    }
}

import Foundation
import JSON

/// The kinds of object the simulated API serves.
public enum SimulatedResource: String, Sendable, CaseIterable {
    /// `v1` pods.
    case pods
    /// `batch/v1` jobs.
    case jobs
    /// `v1` nodes (cluster-scoped).
    case nodes

    /// The API group, as RBAC names it (`""` for the core group).
    public var group: String { self == .jobs ? "batch" : "" }

    /// `jobs.batch`, `pods`: how the API server names the resource in messages.
    var qualifiedName: String { group.isEmpty ? rawValue : "\(rawValue).\(group)" }
}

/// A node of the simulated cluster.
public struct SimulatedNode: Sendable, Equatable {
    /// The node name.
    public var name: String
    /// Its labels (`kubernetes.io/arch` and `kubernetes.io/hostname` are added when missing).
    public var labels: [String: String]
    /// Its annotations (the monitor's power annotations land here through `PATCH`).
    public var annotations: [String: String]

    /// Creates a node.
    public init(
        name: String, architecture: String = "amd64", labels: [String: String] = [:],
        annotations: [String: String] = [:]
    ) {
        self.name = name
        var labels = labels
        labels["kubernetes.io/arch", default: architecture] = labels["kubernetes.io/arch"] ?? architecture
        labels["kubernetes.io/hostname", default: name] = labels["kubernetes.io/hostname"] ?? name
        labels["kubernetes.io/os", default: "linux"] = labels["kubernetes.io/os"] ?? "linux"
        self.labels = labels
        self.annotations = annotations
    }
}

/// A pod as the simulator keeps it.
public struct SimulatedPod: Sendable, Equatable {
    /// `Pending`, `Running`, `Succeeded`, `Failed`.
    public enum Phase: String, Sendable {
        case pending = "Pending"
        case running = "Running"
        case succeeded = "Succeeded"
        case failed = "Failed"
    }

    /// Its name.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// Its uid.
    public var uid: String
    /// The owning Job's name and uid.
    public var job: (name: String, uid: String)?
    /// Which pod of its Job this is (0 first).
    public var attempt: Int
    /// Labels.
    public var labels: [String: String]
    /// Annotations.
    public var annotations: [String: String]
    /// The spec as created (from the Job's template), without `nodeName`.
    public var spec: [String: JSONValue]
    /// Creation time, unix milliseconds.
    public var createdMilliseconds: Int64
    /// The node it is bound to.
    public var nodeName: String?
    /// Its phase.
    public var phase: Phase
    /// Why it is not scheduled (condition `PodScheduled=False`, reason `Unschedulable`).
    public var unschedulableMessage: String?
    /// When its containers started, unix milliseconds.
    public var startedMilliseconds: Int64?
    /// When they finished.
    public var finishedMilliseconds: Int64?
    /// Their exit code once terminated.
    public var exitCode: Int32?
    /// `Evicted` for an evicted pod.
    public var reason: String?
    /// The eviction message.
    public var message: String?
    /// The object's resource version.
    public var resourceVersion: Int

    public static func == (lhs: SimulatedPod, rhs: SimulatedPod) -> Bool {
        lhs.uid == rhs.uid && lhs.resourceVersion == rhs.resourceVersion
    }

    /// Whether the pod has ended.
    public var isFinished: Bool { phase == .succeeded || phase == .failed }

    /// `spec.schedulerName`.
    public var schedulerName: String { spec["schedulerName"]?.string ?? "default-scheduler" }

    /// The nodes a required node affinity term on `metadata.name` (or `kubernetes.io/hostname`)
    /// allows: what the workflow runner pins a placed phase with.
    public var requiredNodeNames: [String]? {
        guard
            let terms = spec["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?[
                "nodeSelectorTerms"]?.array
        else { return nil }
        var names: [String] = []
        for term in terms {
            for requirement in (term["matchFields"]?.array ?? []) + (term["matchExpressions"]?.array ?? []) {
                let key = requirement["key"]?.string
                guard key == "metadata.name" || key == "kubernetes.io/hostname", requirement["operator"]?.string == "In"
                else { continue }
                names += (requirement["values"]?.array ?? []).compactMap(\.string)
            }
        }
        return names.isEmpty ? nil : names
    }

    /// What the lifecycle is told of the pod.
    public var info: PodInfo {
        PodInfo(
            name: name, namespace: namespace, jobName: job?.name, attempt: attempt, schedulerName: schedulerName,
            labels: labels, annotations: annotations,
            images: (spec["containers"]?.array ?? []).compactMap { $0["image"]?.string },
            requiredNodeNames: requiredNodeNames, spec: .object(spec))
    }

    /// Fields a field selector may name.
    var selectableFields: [String: String] {
        var fields = ["metadata.name": name, "metadata.namespace": namespace, "status.phase": phase.rawValue]
        fields["spec.nodeName"] = nodeName ?? ""
        return fields
    }

    /// The pod as the API serves it.
    var json: JSONValue {
        var metadata: [String: JSONValue] = [
            "name": .string(name), "namespace": .string(namespace), "uid": .string(uid),
            "resourceVersion": .string(String(resourceVersion)),
            "creationTimestamp": .string(KubernetesTime.format(createdMilliseconds)),
            "labels": .stringMap(labels), "annotations": .stringMap(annotations),
        ]
        if let job {
            metadata["ownerReferences"] = .array([
                .object([
                    "apiVersion": "batch/v1", "kind": "Job", "name": .string(job.name), "uid": .string(job.uid),
                    "controller": true, "blockOwnerDeletion": true,
                ])
            ])
        }
        var spec = self.spec
        if let nodeName { spec["nodeName"] = .string(nodeName) }
        var conditions: [JSONValue] = []
        if let unschedulableMessage, nodeName == nil {
            conditions.append(
                Self.condition("PodScheduled", false, reason: "Unschedulable", message: unschedulableMessage))
        } else if nodeName != nil {
            conditions.append(Self.condition("PodScheduled", true))
            conditions.append(Self.condition("Ready", phase == .running))
        }
        if reason == "Evicted" {
            conditions.append(
                Self.condition("DisruptionTarget", true, reason: "TerminationByKubelet", message: message))
        }
        var containerState: JSONValue = .object(["waiting": ["reason": "ContainerCreating"]])
        if let started = startedMilliseconds {
            if let finished = finishedMilliseconds {
                containerState = .object([
                    "terminated": .object([
                        "exitCode": .integer(Int64(exitCode ?? 0)),
                        "reason": .string(exitCode == 0 ? "Completed" : (reason == "Evicted" ? "Error" : "Error")),
                        "startedAt": .string(KubernetesTime.format(started)),
                        "finishedAt": .string(KubernetesTime.format(finished)),
                    ])
                ])
            } else {
                containerState = .object(["running": ["startedAt": .string(KubernetesTime.format(started))]])
            }
        }
        var status: [String: JSONValue] = ["phase": .string(phase.rawValue), "conditions": .array(conditions)]
        if nodeName != nil {
            status["startTime"] = .string(KubernetesTime.format(createdMilliseconds))
            status["containerStatuses"] = .array(
                (self.spec["containers"]?.array ?? []).map { container in
                    .object([
                        "name": container["name"] ?? "main", "image": container["image"] ?? "",
                        "ready": .bool(phase == .running), "restartCount": 0, "state": containerState,
                    ])
                })
        }
        if let reason { status["reason"] = .string(reason) }
        if let message { status["message"] = .string(message) }
        return .object([
            "apiVersion": "v1", "kind": "Pod", "metadata": .object(metadata), "spec": .object(spec),
            "status": .object(status),
        ])
    }

    static func condition(_ type: String, _ value: Bool, reason: String? = nil, message: String? = nil) -> JSONValue {
        var condition: [String: JSONValue] = ["type": .string(type), "status": .string(value ? "True" : "False")]
        if let reason { condition["reason"] = .string(reason) }
        if let message { condition["message"] = .string(message) }
        return .object(condition)
    }
}

/// A Job as the simulator keeps it.
public struct SimulatedJob: Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// Its uid.
    public var uid: String
    /// Labels.
    public var labels: [String: String]
    /// Annotations.
    public var annotations: [String: String]
    /// The spec as posted.
    public var spec: [String: JSONValue]
    /// Creation time, unix milliseconds.
    public var createdMilliseconds: Int64
    /// Pods running now.
    public var active: Int
    /// Pods that succeeded.
    public var succeeded: Int
    /// Pods that failed (and counted against `backoffLimit`).
    public var failed: Int
    /// Pods created so far.
    public var podsCreated: Int
    /// `Complete` or `Failed` once finished, with reason and message.
    public var condition: (type: String, reason: String?, message: String?)?
    /// When it finished.
    public var completionMilliseconds: Int64?
    /// The object's resource version.
    public var resourceVersion: Int

    public static func == (lhs: SimulatedJob, rhs: SimulatedJob) -> Bool {
        lhs.uid == rhs.uid && lhs.resourceVersion == rhs.resourceVersion
    }

    /// `spec.backoffLimit` (the API's default is 6).
    var backoffLimit: Int { spec["backoffLimit"]?.integer.flatMap { Int(exactly: $0) } ?? 6 }

    /// Whether `spec.podFailurePolicy` ignores pods that fail with a `DisruptionTarget`
    /// condition (evictions, preemptions), as a Job that should survive evictions says.
    var ignoresDisruptions: Bool {
        (spec["podFailurePolicy"]?["rules"]?.array ?? []).contains { rule in
            rule["action"]?.string == "Ignore"
                && (rule["onPodConditions"]?.array ?? []).contains { $0["type"]?.string == "DisruptionTarget" }
        }
    }

    /// Whether the Job has finished.
    public var isFinished: Bool { condition != nil }

    var selectableFields: [String: String] { ["metadata.name": name, "metadata.namespace": namespace] }

    /// The Job as the API serves it.
    var json: JSONValue {
        var status: [String: JSONValue] = ["startTime": .string(KubernetesTime.format(createdMilliseconds))]
        if active > 0 { status["active"] = .integer(Int64(active)) }
        if succeeded > 0 { status["succeeded"] = .integer(Int64(succeeded)) }
        if failed > 0 { status["failed"] = .integer(Int64(failed)) }
        if let completionMilliseconds, condition?.type == "Complete" {
            status["completionTime"] = .string(KubernetesTime.format(completionMilliseconds))
        }
        if let condition {
            status["conditions"] = .array([
                SimulatedPod.condition(condition.type, true, reason: condition.reason, message: condition.message)
            ])
        }
        return .object([
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": .object([
                "name": .string(name), "namespace": .string(namespace), "uid": .string(uid),
                "resourceVersion": .string(String(resourceVersion)),
                "creationTimestamp": .string(KubernetesTime.format(createdMilliseconds)),
                "labels": .stringMap(labels), "annotations": .stringMap(annotations),
            ]),
            "spec": .object(spec), "status": .object(status),
        ])
    }
}

extension SimulatedNode {
    func json(resourceVersion: Int) -> JSONValue {
        .object([
            "apiVersion": "v1", "kind": "Node",
            "metadata": .object([
                "name": .string(name), "uid": .string("node-\(name)"),
                "resourceVersion": .string(String(resourceVersion)),
                "labels": .stringMap(labels), "annotations": .stringMap(annotations),
            ]),
            "status": .object([
                "conditions": .array([SimulatedPod.condition("Ready", true, reason: "KubeletReady")]),
                "nodeInfo": .object([
                    "architecture": .string(labels["kubernetes.io/arch"] ?? "amd64"), "operatingSystem": "linux",
                ]),
            ]),
        ])
    }
}

/// Times as the API writes them: RFC 3339 in UTC, whole seconds (`metav1.Time`).
enum KubernetesTime {
    static func format(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        // Floor, as the API server truncates to seconds.
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        return formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
    }
}

extension JSONValue {
    static func stringMap(_ map: [String: String]) -> JSONValue {
        .object(map.mapValues { .string($0) })
    }

    /// A JSON object's string members (labels, annotations); others are skipped.
    var stringMap: [String: String] {
        (object ?? [:]).compactMapValues(\.string)
    }
}

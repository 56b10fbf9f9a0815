import AnnotationContract
import Foundation

/// Request bodies built from the captured Kubernetes objects in `../shared/fixtures/kubernetes`.
public enum ClusterPayloads {
    /// The captured minikube `Node`, renamed to `name`, with `annotations` added to its own.
    public static func node(named name: String, annotations: [String: String] = [:]) throws -> [String: Any] {
        var node = try object(TestPaths.kubernetesFixture("node-minikube-v1.17-k9s.json"))
        var metadata = node["metadata"] as? [String: Any] ?? [:]
        metadata["name"] = name
        var merged = metadata["annotations"] as? [String: String] ?? [:]
        merged.merge(annotations) { _, new in new }
        metadata["annotations"] = merged
        node["metadata"] = metadata
        return node
    }

    /// The captured nginx `Pod` opted in to energy scoring with `profile` and `weight`.
    public static func pod(profile: String, weight: String) throws -> [String: Any] {
        var pod = try object(TestPaths.kubernetesFixture("pod-nginx-k9s.json"))
        var metadata = pod["metadata"] as? [String: Any] ?? [:]
        var labels = metadata["labels"] as? [String: String] ?? [:]
        labels[WorkloadContract.optInLabel] = WorkloadContract.optInValue
        labels[WorkloadContract.profileLabel] = profile
        metadata["labels"] = labels
        var annotations = metadata["annotations"] as? [String: String] ?? [:]
        annotations[WorkloadContract.weightAnnotation] = weight
        metadata["annotations"] = annotations
        pod["metadata"] = metadata
        return pod
    }

    /// `ExtenderArgs` as kube-scheduler sends them with `nodeCacheCapable: false`.
    public static func args(pod: [String: Any], nodes: [[String: Any]]) throws -> [UInt8] {
        let args: [String: Any] = [
            "Pod": pod, "Nodes": ["metadata": [String: Any](), "items": nodes], "NodeNames": NSNull(),
        ]
        return Array(try JSONSerialization.data(withJSONObject: args))
    }

    /// Fresh power annotations as the monitor writes them, `age` seconds old.
    public static func power(_ watts: Double, age: Double = 1) -> [String: String] {
        PowerAnnotationContract().annotations(watts: watts, timestampMilliseconds: Int64((Date().timeIntervalSince1970 - age) * 1000))
    }

    /// A JSON object from bytes.
    public static func object(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestSupportError("fixture is not a JSON object")
        }
        return object
    }
}

import JSON

/// The pod being scheduled, as far as scoring reads it: its metadata. Everything else the
/// scheduler sends (spec, status) is accepted and ignored.
public struct ExtenderPod: Sendable, Hashable, Codable {
    /// The pod's name, namespace, labels and annotations.
    public var metadata: ObjectMetadata

    /// Creates a pod from its metadata.
    public init(metadata: ObjectMetadata) {
        self.metadata = metadata
    }

    /// The scoring request the pod makes through its labels and annotation.
    public var policy: PodPolicy {
        PodPolicy(podName: metadata.name, labels: metadata.labels, annotations: metadata.annotations)
    }

    init(json: JSONValue, path: String) throws(WireError) {
        metadata = try ObjectMetadata(object: json, path: path)
    }

    /// Decodes a Kubernetes `Pod` object, reading only its metadata.
    public init(from decoder: any Decoder) throws {
        self = try JSONValue.decodeWire(from: decoder) { (json) throws(WireError) in
            try ExtenderPod(json: json, path: "Pod")
        }
    }

    /// Encodes `{"metadata": …}`.
    public func encode(to encoder: any Encoder) throws {
        try JSONValue.object(["metadata": metadata.json]).encode(to: encoder)
    }
}

import JSON

/// A node in an extender request: its metadata for scoring plus the whole object as received,
/// so a filter response can hand it back unchanged.
public struct ExtenderNode: Sendable, Hashable, Codable {
    /// The node's name, labels and annotations (the power annotations among them).
    public let metadata: ObjectMetadata
    /// The complete node object as received (or as built from ``metadata``).
    public let object: JSONValue

    /// Creates a node object that has only metadata, e.g. to build requests in tests and tools.
    public init(metadata: ObjectMetadata) {
        self.metadata = metadata
        self.object = .object(["metadata": metadata.json])
    }

    /// Creates a node called `name` carrying `annotations` (for example the power annotations).
    public init(name: String, labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.init(metadata: ObjectMetadata(name: name, labels: labels, annotations: annotations))
    }

    init(json: JSONValue, path: String) throws(WireError) {
        metadata = try ObjectMetadata(object: json, path: path)
        object = json
    }

    /// The node name.
    public var name: String { metadata.name }

    /// Decodes a Kubernetes `Node` object, keeping all of it.
    public init(from decoder: any Decoder) throws {
        self = try JSONValue.decodeWire(from: decoder) { (json) throws(WireError) in
            try ExtenderNode(json: json, path: "Node")
        }
    }

    /// Encodes the node object as received.
    public func encode(to encoder: any Encoder) throws {
        try object.encode(to: encoder)
    }
}

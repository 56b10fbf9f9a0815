import JSON

/// The part of a Kubernetes object's `metadata` that scoring needs.
public struct ObjectMetadata: Sendable, Hashable {
    /// `metadata.name`.
    public var name: String
    /// `metadata.namespace`, when present.
    public var namespace: String?
    /// `metadata.labels` (empty when absent).
    public var labels: [String: String]
    /// `metadata.annotations` (empty when absent).
    public var annotations: [String: String]

    /// Creates metadata.
    public init(
        name: String, namespace: String? = nil, labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }

    /// Reads the `metadata` member of an object at `path`, ignoring everything scoring does not use.
    init(object: JSONValue, path: String) throws(WireError) {
        let members = try object.object(at: path)
        guard let metadata = members["metadata"], !metadata.isNull else { throw .missing("\(path).metadata") }
        let fields = try metadata.object(at: "\(path).metadata")
        guard let nameValue = fields["name"], !nameValue.isNull else { throw .missing("\(path).metadata.name") }
        guard let name = nameValue.string, !name.isEmpty else {
            throw WireError(path: "\(path).metadata.name", problem: "expected a non-empty string")
        }
        var namespace: String?
        if let value = fields["namespace"], !value.isNull {
            guard let text = value.string else {
                throw .expected("a string", at: "\(path).metadata.namespace", found: value)
            }
            namespace = text
        }
        self.init(
            name: name,
            namespace: namespace,
            labels: try JSONValue.stringMap(fields["labels"], at: "\(path).metadata.labels"),
            annotations: try JSONValue.stringMap(fields["annotations"], at: "\(path).metadata.annotations")
        )
    }

    /// The metadata as a JSON object, leaving out empty parts as Kubernetes does.
    var json: JSONValue {
        var members: [String: JSONValue] = ["name": .string(name)]
        if let namespace { members["namespace"] = .string(namespace) }
        if !labels.isEmpty { members["labels"] = .object(labels.mapValues(JSONValue.string)) }
        if !annotations.isEmpty { members["annotations"] = .object(annotations.mapValues(JSONValue.string)) }
        return .object(members)
    }
}

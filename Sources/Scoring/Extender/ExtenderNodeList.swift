import JSON

/// A Kubernetes `NodeList` (`{"metadata":{},"items":[…]}`) as it appears in `ExtenderArgs.Nodes`
/// and `ExtenderFilterResult.Nodes`.
public struct ExtenderNodeList: Sendable, Hashable, Codable {
    /// The nodes.
    public var items: [ExtenderNode]

    /// Creates a list.
    public init(items: [ExtenderNode]) {
        self.items = items
    }

    init(json: JSONValue, path: String) throws(WireError) {
        let members = try json.object(at: path)
        guard let items = members["items"], !items.isNull else {
            // Go marshals a nil slice as null; an empty list is still a list.
            self.items = []
            return
        }
        guard case .array(let elements) = items else { throw .expected("an array", at: "\(path).items", found: items) }
        self.items = try elements.enumerated().map { (index, element) throws(WireError) in
            try ExtenderNode(json: element, path: "\(path).items[\(index)]")
        }
    }

    var json: JSONValue {
        .object(["metadata": .object([:]), "items": .array(items.map(\.object))])
    }

    /// Decodes a `NodeList`.
    public init(from decoder: any Decoder) throws {
        self = try JSONValue.decodeWire(from: decoder) { (json) throws(WireError) in
            try ExtenderNodeList(json: json, path: "Nodes")
        }
    }

    /// Encodes the list as Go's `json.Marshal` of a `v1.NodeList` would.
    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}

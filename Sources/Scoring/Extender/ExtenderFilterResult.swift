/// The `filter` response (`ExtenderFilterResult`), with Go's PascalCase field names.
public struct ExtenderFilterResult: Sendable, Hashable, Codable {
    /// `Nodes`: the nodes that pass, as objects (when the request carried objects).
    public var nodes: ExtenderNodeList?
    /// `NodeNames`: the names of the nodes that pass (when the request carried names).
    public var nodeNames: [String]?
    /// `FailedNodes`: node name to the reason it failed; preemption may still help these.
    public var failedNodes: [String: String]
    /// `FailedAndUnresolvableNodes`: failed nodes that preemption cannot help, or nil.
    public var failedAndUnresolvableNodes: [String: String]?
    /// `Error`: a message when the whole call failed; empty otherwise.
    public var error: String

    /// Creates a result.
    public init(
        nodes: ExtenderNodeList?,
        nodeNames: [String]?,
        failedNodes: [String: String] = [:],
        failedAndUnresolvableNodes: [String: String]? = nil,
        error: String = ""
    ) {
        self.nodes = nodes
        self.nodeNames = nodeNames
        self.failedNodes = failedNodes
        self.failedAndUnresolvableNodes = failedAndUnresolvableNodes
        self.error = error
    }

    /// Decodes a result; Go's `null` maps and a missing `Error` are accepted.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodes = try container.decodeIfPresent(ExtenderNodeList.self, forKey: .nodes)
        nodeNames = try container.decodeIfPresent([String].self, forKey: .nodeNames)
        failedNodes = try container.decodeIfPresent([String: String].self, forKey: .failedNodes) ?? [:]
        failedAndUnresolvableNodes = try container.decodeIfPresent(
            [String: String].self,
            forKey: .failedAndUnresolvableNodes
        )
        error = try container.decodeIfPresent(String.self, forKey: .error) ?? ""
    }

    /// Encodes every field, absent ones as `null`, as Go's `json.Marshal` does.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(nodeNames, forKey: .nodeNames)
        try container.encode(failedNodes, forKey: .failedNodes)
        try container.encode(failedAndUnresolvableNodes, forKey: .failedAndUnresolvableNodes)
        try container.encode(error, forKey: .error)
    }

    private enum CodingKeys: String, CodingKey {
        case nodes = "Nodes"
        case nodeNames = "NodeNames"
        case failedNodes = "FailedNodes"
        case failedAndUnresolvableNodes = "FailedAndUnresolvableNodes"
        case error = "Error"
    }
}

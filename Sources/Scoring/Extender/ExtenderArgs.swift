import Foundation
import JSON

/// The body of the scheduler's `filter` and `prioritize` calls (`k8s.io/kube-scheduler/extender/v1`
/// `ExtenderArgs`), with Go's PascalCase field names.
///
/// With `nodeCacheCapable: false` the scheduler sends full node objects in `Nodes` and
/// `NodeNames` is null; with `nodeCacheCapable: true` only `NodeNames`.
public struct ExtenderArgs: Sendable, Hashable, Codable {
    /// `Pod`: the pod being scheduled.
    public var pod: ExtenderPod
    /// `Nodes`: the candidate nodes as objects, or nil.
    public var nodes: ExtenderNodeList?
    /// `NodeNames`: the candidate node names, or nil.
    public var nodeNames: [String]?

    /// Creates arguments.
    public init(pod: ExtenderPod, nodes: ExtenderNodeList?, nodeNames: [String]?) {
        self.pod = pod
        self.nodes = nodes
        self.nodeNames = nodeNames
    }

    /// The most candidate nodes (`Nodes.items` and `NodeNames` together) a call may carry:
    /// the largest cluster Kubernetes supports. Each candidate costs memory while it is scored
    /// (about 1 KiB for a bare name), so a body of a few MiB of names must not become
    /// hundreds of thousands of them.
    public static let maxCandidates = 5_000

    /// Reads arguments from a parsed body; errors name the offending path.
    init(json: JSONValue) throws(WireError) {
        let members = try json.object(at: "ExtenderArgs")
        let candidates = (members["Nodes"]?["items"]?.array?.count ?? 0) + (members["NodeNames"]?.array?.count ?? 0)
        guard candidates <= Self.maxCandidates else {
            throw WireError(
                path: "",
                problem: "\(candidates) candidate nodes; at most \(Self.maxCandidates), the largest cluster Kubernetes supports")
        }
        guard let pod = members["Pod"], !pod.isNull else { throw .missing("Pod") }
        self.pod = try ExtenderPod(json: pod, path: "Pod")
        if let nodes = members["Nodes"], !nodes.isNull {
            self.nodes = try ExtenderNodeList(json: nodes, path: "Nodes")
        }
        if let names = members["NodeNames"], !names.isNull {
            guard case .array(let elements) = names else { throw .expected("an array", at: "NodeNames", found: names) }
            self.nodeNames = try elements.enumerated().map { (index, element) throws(WireError) in
                guard let name = element.string else {
                    throw .expected("a string", at: "NodeNames[\(index)]", found: element)
                }
                return name
            }
        }
    }

    /// Parses a request body.
    init(body: Data) throws(WireError) {
        try self.init(json: JSONValue.parse(body))
    }

    /// Decodes `{"Pod":…,"Nodes":…,"NodeNames":…}`.
    public init(from decoder: any Decoder) throws {
        self = try JSONValue.decodeWire(from: decoder) { (json) throws(WireError) in try ExtenderArgs(json: json) }
    }

    /// Encodes like Go's `json.Marshal`: absent lists as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pod, forKey: .pod)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(nodeNames, forKey: .nodeNames)
    }

    private enum CodingKeys: String, CodingKey {
        case pod = "Pod"
        case nodes = "Nodes"
        case nodeNames = "NodeNames"
    }
}

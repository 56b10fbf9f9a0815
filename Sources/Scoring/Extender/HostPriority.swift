/// One entry of the `prioritize` response (`HostPriority`): a node and its score 0...10.
public struct HostPriority: Sendable, Hashable, Codable {
    /// `Host`: the node name.
    public var host: String
    /// `Score`: the extender score, 0...10 (the scheduler multiplies it by the extender weight).
    public var score: Int

    /// Creates an entry.
    public init(host: String, score: Int) {
        self.host = host
        self.score = score
    }

    private enum CodingKeys: String, CodingKey {
        case host = "Host"
        case score = "Score"
    }
}

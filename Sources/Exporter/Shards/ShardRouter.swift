import EnergyModel

/// How the JSON API of one shard answers for the nodes of the others: it asks the owner shard
/// (``ShardAssignment/owner(of:count:)``) at its peer URL, with ``forwardedHeader`` set, and
/// merges the owners' answers in the order asked. A request that carries the header is always
/// answered from the local store, so a request is forwarded at most once whatever the peers'
/// configuration says.
public struct ShardRouter: Sendable {
    /// A peer's answer: its status and body.
    public struct PeerAnswer: Sendable, Equatable {
        /// HTTP status.
        public var status: Int
        /// The body.
        public var body: [UInt8]

        /// An answer of `status` with `body`.
        public init(status: Int, body: [UInt8]) {
            self.status = status
            self.body = body
        }
    }

    /// The header that marks a request forwarded by another shard; its owner answers it
    /// from its own store and never forwards it again.
    public static let forwardedHeader = "X-Energy-Monitor-Forwarded"

    /// This shard.
    public let assignment: ShardAssignment
    /// Each shard's base URL, by index (empty: none known).
    public let peers: [String]
    /// Every configured node, of every shard, in configuration order.
    public let nodes: [String]
    /// GETs a URL with ``forwardedHeader`` set, within a bounded time; the failure in one
    /// line when no answer came.
    public let fetch: @Sendable (String) async -> Result<PeerAnswer, ShardError>

    /// A router for shard `assignment` of the configured `nodes`, reaching the others at
    /// `peers` with `fetch`.
    public init(
        assignment: ShardAssignment, peers: [String], nodes: [String],
        fetch: @escaping @Sendable (String) async -> Result<PeerAnswer, ShardError>
    ) {
        self.assignment = assignment
        self.peers = peers
        self.nodes = nodes
        self.fetch = fetch
    }

    /// The owner of `node`.
    public func owner(of node: String) -> Int {
        ShardAssignment.owner(of: node, count: assignment.count)
    }

    /// `nodes` grouped by owner: the shards in the order their first node comes, each with
    /// its nodes in the order given.
    public func grouped(_ nodes: [String]) -> [(shard: Int, nodes: [String])] {
        var groups: [(shard: Int, nodes: [String])] = []
        for node in nodes {
            let shard = owner(of: node)
            if let index = groups.firstIndex(where: { $0.shard == shard }) {
                groups[index].nodes.append(node)
            } else {
                groups.append((shard, [node]))
            }
        }
        return groups
    }

    /// GETs `pathAndQuery` (`/api/v1/energy?...`) from shard `shard`; a failure (no URL for
    /// it, no answer in time) is one line naming the shard.
    func ask(_ shard: Int, _ pathAndQuery: String) async -> Result<PeerAnswer, ShardError> {
        guard peers.indices.contains(shard) else {
            return .failure(ShardError("shard \(shard) owns the node but this shard has no peer URLs (--peers)"))
        }
        switch await fetch(peers[shard] + pathAndQuery) {
        case .success(let answer): return .success(answer)
        case .failure(let error):
            return .failure(ShardError("shard \(shard) (\(peers[shard])) did not answer: \(error.description)"))
        }
    }

    /// A time as unix seconds with milliseconds (`1769030701.250`): what the owner reads back
    /// to the same millisecond, so that every shard answers for the same window however
    /// `now` moved.
    static func seconds(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        let fraction = String(magnitude % 1000)
        return sign + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The elements of a JSON array, each as its bytes; nil if `bytes` is not one array.
    /// Strings are skipped with their escapes, so brackets and commas inside them do not count.
    static func elements(ofArray bytes: [UInt8]) -> [ArraySlice<UInt8>]? {
        var start = bytes.startIndex
        var end = bytes.endIndex
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 }
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        guard end - start >= 2, bytes[start] == UInt8(ascii: "["), bytes[end - 1] == UInt8(ascii: "]") else {
            return nil
        }
        var elements: [ArraySlice<UInt8>] = []
        var depth = 0
        var inString = false
        var escaped = false
        var elementStart = start + 1
        for index in (start + 1)..<(end - 1) {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth < 0 { return nil }
            case UInt8(ascii: ",") where depth == 0:
                elements.append(bytes[elementStart..<index])
                elementStart = index + 1
            default: break
            }
        }
        guard depth == 0, !inString else { return nil }
        let last = bytes[elementStart..<(end - 1)]
        if last.contains(where: { !isSpace($0) }) {
            elements.append(last)
        } else if !elements.isEmpty {
            return nil
        }
        return elements
    }
}

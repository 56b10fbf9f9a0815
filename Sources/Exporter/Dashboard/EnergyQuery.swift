import EnergyModel

/// The parameters of `GET /api/v1/energy?node=&from=&to=`, validated: the same window and
/// defaults as `energy-monitor energy` (every node of the store, the last hour).
public struct EnergyQuery: Sendable, Equatable {
    /// Nodes to answer for, in the order asked (every node of the store when absent).
    public var nodes: [String]
    /// Window start, unix milliseconds.
    public var fromMilliseconds: Int64
    /// Window end (exclusive), unix milliseconds.
    public var toMilliseconds: Int64

    /// Longest window one request may integrate: 400 days, the default minute retention.
    public static let maxWindowMilliseconds: Int64 = 400 * 86_400_000

    /// Why a query was refused: one line naming the parameter.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The line, e.g. `to: must be after from`.
        public var description: String
    }

    /// A query of already validated values.
    public init(nodes: [String], fromMilliseconds: Int64, toMilliseconds: Int64) {
        self.nodes = nodes
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
    }

    /// Validates raw query parameters (nil when absent): `node` comma-separated names the
    /// store knows, `from` and `to` as RFC 3339, unix seconds, `now` or `now-1h` (defaults
    /// `now-1h` and `now`).
    public init(node: String?, from: String?, to: String?, knownNodes: [String], nowMilliseconds: Int64) throws(Failure)
    {
        if let node, !node.isEmpty {
            var names: [String] = []
            for name in node.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingSpaces() }
            ) {
                guard !name.isEmpty else { throw Failure(description: "node: empty name in \"\(node)\"") }
                guard knownNodes.contains(name) else {
                    throw Failure(
                        description:
                            "node: no node \"\(name)\" in the store (known: \(knownNodes.joined(separator: ", ")))")
                }
                if !names.contains(name) { names.append(name) }
            }
            nodes = names
        } else {
            nodes = knownNodes
        }
        fromMilliseconds = try Self.time(from ?? "now-1h", "from", nowMilliseconds: nowMilliseconds)
        toMilliseconds = try Self.time(to ?? "now", "to", nowMilliseconds: nowMilliseconds)
        guard toMilliseconds > fromMilliseconds else { throw Failure(description: "to: must be after from") }
        guard toMilliseconds - fromMilliseconds <= Self.maxWindowMilliseconds else {
            throw Failure(description: "from: the window is longer than 400 days")
        }
    }

    private static func time(_ text: String, _ name: String, nowMilliseconds: Int64) throws(Failure) -> Int64 {
        do {
            return try TimeParsing.milliseconds(
                text.isEmpty ? (name == "from" ? "now-1h" : "now") : text, nowMilliseconds: nowMilliseconds)
        } catch {
            throw Failure(description: "\(name): \(error.description)")
        }
    }
}

import EnergyModel
import Foundation

/// The monitor as one shard of several (`shards:` of the configuration, or `run --shard`,
/// `--shard-from-hostname`, `--peers`): it polls, stores and annotates only the nodes that
/// hash to its index (``ShardAssignment``), and answers the JSON API for every node by asking
/// the owner shard at its peer URL.
public struct ShardSettings: Sendable, Equatable {
    /// Where the shard's index comes from.
    public enum Index: Sendable, Equatable {
        /// A fixed index (`shards.index`, `--shard I/N`).
        case fixed(Int)
        /// The ordinal at the end of the host name, as a StatefulSet's pods are named
        /// (`energy-monitor-2` is 2): the one configuration of every pod.
        case hostname
    }

    /// How many shards there are.
    public var count: Int
    /// This shard's index.
    public var index: Index
    /// Each shard's base URL, by index; empty: no routing (the API answers for this shard's
    /// nodes only and names the owner of the others).
    public var peers: [String]

    /// Settings of `count` shards, the index from `index`, with `peers`.
    public init(count: Int, index: Index, peers: [String] = []) {
        self.count = count
        self.index = index
        self.peers = peers
    }

    /// This shard's assignment, the index read from `hostname` if it comes from there.
    public func assignment(hostname: String = ShardSettings.hostname()) throws(ShardError) -> ShardAssignment {
        switch index {
        case .fixed(let index): try ShardAssignment(index: index, count: count)
        case .hostname: try ShardAssignment(hostname: hostname, count: count)
        }
    }

    /// The host name: `$HOSTNAME` when set (Kubernetes sets it to the pod's name), else the
    /// system's.
    public static func hostname() -> String {
        if let name = ProcessInfo.processInfo.environment["HOSTNAME"], !name.isEmpty { return name }
        return ProcessInfo.processInfo.hostName
    }
}

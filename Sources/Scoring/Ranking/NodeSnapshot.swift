import Foundation

/// A node as the scorer sees it: its name and what its power annotations said.
public struct NodeSnapshot: Sendable, Hashable {
    /// The Kubernetes node name.
    public var name: String
    /// The node's live power reading.
    public var power: LivePower

    /// Creates a snapshot from an already interpreted reading.
    public init(name: String, power: LivePower) {
        self.name = name
        self.power = power
    }

    /// Creates a snapshot with a fresh reading of `liveWatts`, or none when nil (for the CLI
    /// and replays that have the watts but no annotations).
    public init(name: String, liveWatts: Double?) {
        self.init(name: name, power: liveWatts.map { .fresh(watts: $0, age: 0) } ?? .absent)
    }

    /// Creates a snapshot from a node's annotations read at `now`.
    public init(name: String, annotations: [String: String], reader: PowerAnnotations = PowerAnnotations(), now: Date) {
        self.init(name: name, power: reader.read(annotations, now: now))
    }
}

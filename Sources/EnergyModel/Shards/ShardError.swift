/// Why a shard setting (`--shard`, `--shard-from-hostname`, `--peers`, `shards:`) is refused:
/// one line.
public struct ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}

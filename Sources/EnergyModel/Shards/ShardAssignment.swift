/// Which nodes one monitor of several polls: shard `index` of `count` owns the nodes whose
/// name hashes to it, by rendezvous (highest random weight) hashing over a fixed hash of the
/// name. The hash is the same in every process and on every run (Swift's `Hasher` is seeded
/// per process, so it cannot be used here), so all shards agree on every node's owner without
/// talking to each other; going from N to N+1 shards moves only the nodes the new shard wins,
/// about 1/(N+1) of them, and each of those moves to the new shard.
public struct ShardAssignment: Sendable, Equatable, CustomStringConvertible {
    /// This shard, `0..<count`.
    public let index: Int
    /// How many shards there are.
    public let count: Int

    /// Most shards: far beyond any cluster's need, and small enough that a typo (`3/30000`)
    /// is refused instead of leaving every shard nearly empty.
    public static let maxCount = 1024

    /// Shard `index` of `count`; throws unless `count` is 1...``maxCount`` and `index` below it.
    public init(index: Int, count: Int) throws(ShardError) {
        guard (1...Self.maxCount).contains(count) else {
            throw ShardError("the number of shards must be between 1 and \(Self.maxCount), not \(count)")
        }
        guard (0..<count).contains(index) else {
            throw ShardError("shard \(index) does not exist: with \(count) shards the index is 0...\(count - 1)")
        }
        self.index = index
        self.count = count
    }

    /// `I/N`, e.g. `2/3` (shard 2 of 3, counted from 0).
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Self.number(parts[0]), let count = Self.number(parts[1]) else {
            throw ShardError("expected I/N (shard I of N, e.g. 0/3), not \"\(text.foldedToOneLine(limit: 64))\"")
        }
        try self.init(index: index, count: count)
    }

    /// Shard `ordinal` of `count`, where the ordinal ends `hostname` as a StatefulSet's pod
    /// names end (`energy-monitor-2` is 2).
    public init(hostname: String, count: Int) throws(ShardError) {
        try self.init(index: try Self.ordinal(ofHostname: hostname), count: count)
    }

    /// The number after the last `-` of a StatefulSet pod's name (its ordinal).
    public static func ordinal(ofHostname hostname: String) throws(ShardError) -> Int {
        let name = hostname.split(separator: ".").first.map(String.init) ?? hostname
        guard let dash = name.lastIndex(of: "-"), let ordinal = number(name[name.index(after: dash)...]) else {
            throw ShardError(
                "hostname \"\(hostname.foldedToOneLine(limit: 64))\" does not end in -<ordinal> as a StatefulSet pod's does"
            )
        }
        return ordinal
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// Whether this shard polls `node`.
    public func owns(_ node: String) -> Bool {
        Self.owner(of: node, count: count) == index
    }

    /// The shard of `count` that owns `node`: the one with the highest weight for it (ties,
    /// which need equal 64-bit weights, go to the lower index).
    public static func owner(of node: String, count: Int) -> Int {
        let key = nameHash(node)
        var best = 0
        var bestWeight: UInt64 = 0
        for shard in 0..<max(1, count) {
            let weight = self.weight(key: key, shard: shard)
            if shard == 0 || weight > bestWeight {
                best = shard
                bestWeight = weight
            }
        }
        return best
    }

    /// FNV-1a (64 bit) of the name's UTF-8 bytes: fixed by its definition, not by the process.
    static func nameHash(_ node: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in node.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The weight of `shard` for a name: the name's hash and the shard's mixed by SplitMix64's
    /// finalizer, so that nearby names and shard numbers give unrelated weights.
    static func weight(key: UInt64, shard: Int) -> UInt64 {
        var value = key ^ (UInt64(truncatingIfNeeded: shard + 1) &* 0x9e37_79b9_7f4a_7c15)
        value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
        value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
        return value ^ (value >> 31)
    }

    /// Decimal digits only (no sign, no spaces), at most 6 of them.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 6, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}

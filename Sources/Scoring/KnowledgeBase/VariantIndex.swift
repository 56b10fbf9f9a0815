import Synchronization

/// Which entries of a profile serve a node, remembered per node name: the answer depends only
/// on the (immutable) entry names, and a cluster of 5,000 nodes with an entry for each would
/// otherwise compare 25 million names for every scheduling call.
final class VariantIndex: Sendable {
    /// The entries' `nodeName`s as UTF-8.
    private let names: [[UInt8]]
    private let memo = Mutex<[String: [Int]]>([:])
    /// Names remembered at most; beyond it the memo starts over (a client sending made-up
    /// names must not make it grow for ever).
    static let capacity = 50_000

    init(_ names: [String]) {
        self.names = names.map { Array($0.utf8) }
    }

    /// The indices of the entries whose name contains `node`, in entry order.
    func indices(of node: String) -> [Int] {
        if let known = memo.withLock({ $0[node] }) { return known }
        let needle = Array(node.utf8)
        var found: [Int] = []
        for (index, name) in names.enumerated() where Self.contains(name, needle) {
            found.append(index)
        }
        memo.withLock { memo in
            if memo.count >= Self.capacity { memo.removeAll(keepingCapacity: true) }
            memo[node] = found
        }
        return found
    }

    /// Byte-wise substring test, Go's `strings.Contains` (an empty needle matches nothing).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                let first = pin[0]
                var start = 0
                let last = hay.count - pin.count
                while start <= last {
                    if hay[start] == first {
                        var offset = 1
                        while offset < pin.count, hay[start + offset] == pin[offset] { offset += 1 }
                        if offset == pin.count { return true }
                    }
                    start += 1
                }
                return false
            }
        }
    }
}

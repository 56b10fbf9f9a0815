/// Byte-level mutations of JSON-ish payloads: bit flips, structural characters, cut and
/// duplicated ranges, odd number literals, deep nesting.
public enum PayloadMutator {
    /// Literals that parsers tend to get wrong.
    public static let oddNumbers = [
        "NaN", "-NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e308", "4.9e-324", "-0", "-250", "-0.3",
        "10000000", "123456789012345678901234567890123456789", "0x10", "1.", ".5", "1e", "--1", "null", "true", "\"12\"",
    ]
    public static let structural: [UInt8] = Array("{}[]\",:0123456789-.eE\\ ntfalsru".utf8)

    /// One to four mutations of `bytes`.
    public static func mutate(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            mutateOnce(&bytes, using: &rng)
        }
        return bytes
    }

    private static func mutateOnce(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<9, using: &rng) {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
        case 1 where !bytes.isEmpty:
            bytes[position] = structural.randomElement(using: &rng)!
        case 2:
            bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
        case 3 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...64, using: &rng))
            bytes.removeSubrange(position..<end)
        case 4 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...128, using: &rng))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        case 5:
            bytes = Array(bytes.prefix(position))
        case 6:
            replaceNumber(&bytes, using: &rng)
        case 7:
            let depth = [2, 65, 600, 5_000, 100_000].randomElement(using: &rng)!
            let (open, close): (UInt8, UInt8) = Bool.random(using: &rng) ? (0x5B, 0x5D) : (0x7B, 0x7D)
            let inner: [UInt8] = open == 0x5B ? [] : Array("\"k\":1".utf8)
            let closed = Bool.random(using: &rng)
            bytes.insert(
                contentsOf: Array(repeating: open, count: depth) + inner + (closed ? Array(repeating: close, count: depth) : []),
                at: position
            )
        default:
            bytes.insert(contentsOf: Array(oddNumbers.randomElement(using: &rng)!.utf8), at: position)
        }
    }

    /// Replaces one number in the payload with an odd literal.
    private static func replaceNumber(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
        let starts = bytes.indices.filter { index in
            (bytes[index] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[index]))
                && (index == 0 || bytes[index - 1] == UInt8(ascii: ":") || bytes[index - 1] == UInt8(ascii: "["))
        }
        guard let start = starts.randomElement(using: &rng) else { return }
        var end = start + 1
        while end < bytes.count, Array("0123456789.eE+-".utf8).contains(bytes[end]) { end += 1 }
        bytes.replaceSubrange(start..<end, with: Array(oddNumbers.randomElement(using: &rng)!.utf8))
    }
}

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
        guard let field = numericFields(in: bytes).randomElement(using: &rng) else { return }
        bytes.replaceSubrange(field, with: Array(oddNumbers.randomElement(using: &rng)!.utf8))
    }

    /// The byte ranges of the numbers in a JSON text: values of members and elements.
    public static func numericFields(in bytes: [UInt8]) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var index = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\"") {
                inString = true
                index += 1
                continue
            }
            let previous = bytes[..<index].last { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
            if byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte),
                previous == nil || previous == UInt8(ascii: ":") || previous == UInt8(ascii: "[") || previous == UInt8(ascii: ",")
            {
                var end = index + 1
                while end < bytes.count, Array("0123456789.eE+-".utf8).contains(bytes[end]) { end += 1 }
                fields.append(index..<end)
                index = end
                continue
            }
            index += 1
        }
        return fields
    }

    /// Every way of putting one extreme number (``ExtremeNumbers/literals``) into one numeric
    /// field of `bytes`: `(label, body)` pairs, the label naming the field's offset and value.
    public static func extremeVariants(of bytes: [UInt8]) -> [(label: String, bytes: [UInt8])] {
        var variants: [(String, [UInt8])] = []
        for field in numericFields(in: bytes) {
            let original = String(decoding: bytes[field], as: UTF8.self)
            for literal in ExtremeNumbers.literals {
                var copy = bytes
                copy.replaceSubrange(field, with: Array(literal.utf8))
                variants.append(("byte \(field.lowerBound) (\(original)) = \(literal.prefix(24))", copy))
            }
        }
        return variants
    }
}

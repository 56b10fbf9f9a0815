/// Kubernetes resource quantities (`resource.Quantity`) read as CPU cores: `250m`, `2`,
/// `0.5`, `123456789n` (metrics-server's nanocores), `1500u`, `1k`, `1Ki`, `1e3`.
///
/// The grammar is the API server's: an optional sign, a decimal number (`1`, `1.`, `.5`,
/// `1.5`), then at most one suffix: decimal SI (`n u m k M G T P E`), binary SI (`Ki Mi Gi
/// Ti Pi Ei`) or a decimal exponent (`e3`, `E-2`). Anything else (spaces, hexadecimal,
/// `nan`, `inf`, two suffixes), a negative value and a value beyond ``maximumCores`` is nil:
/// usage and requests come from other programs and are never trusted to be sane.
public enum CPUQuantity {
    /// The largest number of cores accepted (a thousand billion: `1T`, `1Gi` pass, `1P` does
    /// not): every suffix is understood, but a value beyond any cluster is a broken report, and
    /// refusing it keeps sums over a cluster finite.
    public static let maximumCores: Double = 1e12

    /// The quantity in cores, or nil when it is malformed, negative, not finite or absurd.
    public static func cores(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        // A quantity is short; a longer string is refused before any work.
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        var index = 0
        var negative = false
        if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        let numberStart = index
        var digitCount = 0
        var sawDot = false
        while index < bytes.count {
            let byte = bytes[index]
            if isDigit(byte) {
                digitCount += 1
            } else if byte == UInt8(ascii: "."), !sawDot {
                sawDot = true
            } else {
                break
            }
            index += 1
        }
        guard digitCount > 0 else { return nil }
        var number = String(decoding: bytes[numberStart..<index], as: UTF8.self)
        if number.hasPrefix(".") { number = "0" + number }
        if number.hasSuffix(".") { number += "0" }
        let suffix = String(decoding: bytes[index...], as: UTF8.self)
        // Decimal scales go into the exponent, so that `123456789n` is read as exactly as
        // `0.123456789` is.
        guard let (exponent, factor) = Self.scale(suffix), let scaled = Double("\(number)e\(exponent)") else {
            return nil
        }
        let value = scaled * factor
        guard value.isFinite, value <= maximumCores else { return nil }
        if negative, value != 0 { return nil }
        return value == 0 ? 0 : value  // `-0` is zero, never a negative zero
    }

    /// A suffix as a power of ten and a binary factor; nil for one that is not a quantity's.
    private static func scale(_ suffix: String) -> (exponent: Int, factor: Double)? {
        switch suffix {
        case "": return (0, 1)
        case "n": return (-9, 1)
        case "u": return (-6, 1)
        case "m": return (-3, 1)
        case "k": return (3, 1)
        case "M": return (6, 1)
        case "G": return (9, 1)
        case "T": return (12, 1)
        case "P": return (15, 1)
        case "E": return (18, 1)
        case "Ki": return (0, 1024)
        case "Mi": return (0, 1_048_576)
        case "Gi": return (0, 1_073_741_824)
        case "Ti": return (0, 1_099_511_627_776)
        case "Pi": return (0, 1_125_899_906_842_624)
        case "Ei": return (0, 1_152_921_504_606_846_976)
        default: break
        }
        // A decimal exponent: `e` or `E`, an optional sign, digits (a handful: anything with
        // more is out of range either way).
        var exponentText = Substring(suffix)
        guard let marker = exponentText.first, marker == "e" || marker == "E" else { return nil }
        exponentText = exponentText.dropFirst()
        var sign = 1
        if let first = exponentText.first, first == "+" || first == "-" {
            sign = first == "-" ? -1 : 1
            exponentText = exponentText.dropFirst()
        }
        guard !exponentText.isEmpty, exponentText.count <= 4, exponentText.utf8.allSatisfy(isDigit) else { return nil }
        let power = exponentText.utf8.reduce(0) { $0 * 10 + Int(clamping: $1 - UInt8(ascii: "0")) }
        return (sign * power, 1)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

/// Parses durations written as in the configuration file: `500ms`, `1s`, `15s`, `5m`, `2h`,
/// `14d`, or a sum such as `1m30s`. A bare number is rejected: units are never guessed.
/// Durations of 10^15 ms (some 31,700 years) or more are refused, so sums and differences
/// with unix times never overflow.
public enum DurationParsing {
    /// Every accepted duration is shorter than this many milliseconds.
    public static let limitMilliseconds: Int64 = 1_000_000_000_000_000

    /// Why a duration string was refused.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The refused text.
        public var text: String
        /// A readable explanation.
        public var description: String {
            "not a duration: \"\(text)\" (use e.g. 500ms, 1s, 15s, 5m, 2h, 14d)"
        }
    }

    /// The duration in milliseconds, or a `Failure`.
    public static func milliseconds(_ text: String) throws(Failure) -> Int64 {
        let trimmed = text.trimmingSpaces()
        var index = trimmed.startIndex
        var total: Int64 = 0
        var sawPart = false
        while index < trimmed.endIndex {
            var digits = ""
            while index < trimmed.endIndex, trimmed[index].isASCII, trimmed[index].isNumber || trimmed[index] == "." {
                digits.append(trimmed[index])
                index = trimmed.index(after: index)
            }
            var unit = ""
            while index < trimmed.endIndex, trimmed[index].isLetter {
                unit.append(trimmed[index])
                index = trimmed.index(after: index)
            }
            guard let value = Double(digits), value >= 0, let factor = unitMilliseconds(unit) else {
                throw Failure(text: text)
            }
            guard let part = Int64(rounding: value * factor), part < limitMilliseconds - total else {
                throw Failure(text: text)
            }
            total += part
            sawPart = true
        }
        guard sawPart else { throw Failure(text: text) }
        return total
    }

    private static func unitMilliseconds(_ unit: String) -> Double? {
        switch unit {
        case "ms": 1
        case "s": 1000
        case "m": 60_000
        case "h": 3_600_000
        case "d": 86_400_000
        case "w": 604_800_000
        default: nil
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    public func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}

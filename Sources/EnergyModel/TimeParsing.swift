import Foundation

/// Parses the times the command line accepts: RFC 3339 (`2026-01-21T21:25:01Z`, with
/// fractional seconds or an offset; without a zone it is UTC) and unix seconds (`1769030701`,
/// `1769030701.5`). Also `now`, and `now-1h` style offsets. Times outside the years 1 to
/// 9999 are refused, so every accepted time, and the difference of any two, fits unix
/// milliseconds with room to spare.
public enum TimeParsing {
    /// 0001-01-01T00:00:00Z in unix milliseconds.
    public static let earliestMilliseconds: Int64 = -62_135_596_800_000
    /// 9999-12-31T23:59:59.999Z in unix milliseconds.
    public static let latestMilliseconds: Int64 = 253_402_300_799_999

    /// Why a time was refused.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The refused text.
        public var text: String
        /// One line.
        public var description: String {
            "not a time: \"\(text)\" (use RFC 3339 like 2026-01-21T21:25:01Z, unix seconds, or now-1h)"
        }
    }

    /// Unix milliseconds for `text`, relative offsets taken from `nowMilliseconds`.
    public static func milliseconds(_ text: String, nowMilliseconds: Int64) throws(Failure) -> Int64 {
        let value = try unchecked(text, nowMilliseconds: nowMilliseconds)
        guard (earliestMilliseconds...latestMilliseconds).contains(value) else { throw Failure(text: text) }
        return value
    }

    private static func unchecked(_ text: String, nowMilliseconds: Int64) throws(Failure) -> Int64 {
        let trimmed = text.trimmingSpaces()
        if trimmed == "now" { return nowMilliseconds }
        if trimmed.hasPrefix("now-") || trimmed.hasPrefix("now+") {
            guard let offset = try? DurationParsing.milliseconds(String(trimmed.dropFirst(4))) else {
                throw Failure(text: text)
            }
            // Durations stay below 10^15 ms, so this cannot overflow.
            return trimmed.dropFirst(3).first == "-" ? nowMilliseconds - offset : nowMilliseconds + offset
        }
        // Unix seconds: plain decimal digits (an exponent allowed), never hexadecimal or `nan`.
        if trimmed.first?.isNumber == true, trimmed.allSatisfy({ "0123456789.eE+-".contains($0) }) {
            guard let seconds = Double(trimmed), let milliseconds = Int64(rounding: seconds * 1000) else {
                throw Failure(text: text)
            }
            return milliseconds
        }
        var candidate = trimmed.replacingOccurrences(of: " ", with: "T")
        if candidate.count == 19 { candidate += "Z" }  // no zone: UTC
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: candidate), let milliseconds = Int64(rounding: date.timeIntervalSince1970 * 1000) {
                return milliseconds
            }
        }
        throw Failure(text: text)
    }
}

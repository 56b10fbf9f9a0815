import Foundation

/// Parses the times the command line accepts: RFC 3339 (`2026-01-21T21:25:01Z`, with
/// fractional seconds or an offset; without a zone it is UTC) and unix seconds (`1769030701`,
/// `1769030701.5`). Also `now`, and `now-1h` style offsets.
public enum TimeParsing {
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
        let trimmed = text.trimmingSpaces()
        if trimmed == "now" { return nowMilliseconds }
        if trimmed.hasPrefix("now-") || trimmed.hasPrefix("now+") {
            let sign: Int64 = trimmed.dropFirst(3).first == "-" ? -1 : 1
            guard let offset = try? DurationParsing.milliseconds(String(trimmed.dropFirst(4))) else {
                throw Failure(text: text)
            }
            return nowMilliseconds + sign * offset
        }
        if let seconds = Double(trimmed), seconds.isFinite, trimmed.first?.isNumber == true {
            return Int64((seconds * 1000).rounded())
        }
        var candidate = trimmed.replacingOccurrences(of: " ", with: "T")
        if candidate.count == 19 { candidate += "Z" }  // no zone: UTC
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: candidate) {
                return Int64((date.timeIntervalSince1970 * 1000).rounded())
            }
        }
        throw Failure(text: text)
    }
}

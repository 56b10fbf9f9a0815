import Foundation

extension TimeParsing {
    /// `milliseconds` as RFC 3339 in UTC, whole seconds (`2026-01-21T21:25:01Z`): the form the
    /// command line reads back. Times outside the years 1 to 9999 are written as unix seconds.
    public static func utcText(milliseconds: Int64) -> String {
        guard (earliestMilliseconds...latestMilliseconds).contains(milliseconds) else {
            return "\(milliseconds / 1000)"
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        // Floor to the second, also before 1970 (integer division truncates toward zero).
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        return formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
    }
}

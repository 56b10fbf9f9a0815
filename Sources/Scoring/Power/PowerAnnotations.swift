import Foundation

/// Reads the live-power node annotations the monitor publishes:
/// `<prefix>/current-watts` (watts as `"%.2f"`) and `<prefix>/last-updated` (unix seconds).
///
/// A reading is used only while it is younger than ``maxAge`` relative to an injected `now`,
/// so tests and replays are deterministic. Malformed values are reported, never guessed.
public struct PowerAnnotations: Sendable, Hashable {
    /// The prefix the monitor uses unless configured otherwise (as the thesis did).
    public static let defaultPrefix = "energy.thesis.io"
    /// How old a reading may be and still count, in seconds (the thesis plugin's 30 s).
    public static let defaultMaxAge: Double = 30

    /// The annotation prefix, without the trailing slash.
    public var prefix: String
    /// Readings this many seconds old or older are stale.
    public var maxAge: Double

    /// Creates a reader for `prefix` with freshness limit `maxAge` seconds.
    public init(prefix: String = PowerAnnotations.defaultPrefix, maxAge: Double = PowerAnnotations.defaultMaxAge) {
        self.prefix = prefix
        self.maxAge = maxAge
    }

    /// The key of the watts annotation.
    public var wattsKey: String { "\(prefix)/current-watts" }
    /// The key of the timestamp annotation.
    public var lastUpdatedKey: String { "\(prefix)/last-updated" }

    /// The annotations the monitor writes for a reading of `watts` taken at `time`.
    public func annotations(watts: Double, at time: Date) -> [String: String] {
        [
            wattsKey: String(format: "%.2f", watts),
            lastUpdatedKey: String(Int64(time.timeIntervalSince1970.rounded(.down))),
        ]
    }

    /// Interprets a node's annotations at time `now`.
    ///
    /// A timestamp slightly in the future (clocks of monitor and scheduler disagree) counts as
    /// age 0; one more than ``maxAge`` ahead cannot come from a working clock and is invalid.
    public func read(_ annotations: [String: String], now: Date) -> LivePower {
        let wattsText = annotations[wattsKey]
        let updatedText = annotations[lastUpdatedKey]
        switch (wattsText, updatedText) {
        case (nil, nil):
            return .absent
        case (nil, _):
            return .invalid(reason: "\(wattsKey) missing while \(lastUpdatedKey) is set")
        case (_, nil):
            return .invalid(reason: "\(lastUpdatedKey) missing while \(wattsKey) is set")
        case (let wattsText?, let updatedText?):
            guard let watts = Self.decimal(wattsText), watts >= 0 else {
                return .invalid(reason: "\(wattsKey): not a non-negative number (\"\(wattsText)\")")
            }
            guard let updated = Self.decimal(updatedText) else {
                return .invalid(reason: "\(lastUpdatedKey): not unix seconds (\"\(updatedText)\")")
            }
            let age = now.timeIntervalSince1970 - updated
            guard age > -maxAge else {
                return .invalid(reason: "\(lastUpdatedKey): \(Int(-age)) s in the future")
            }
            let clampedAge = max(0, age)
            return clampedAge < maxAge ? .fresh(watts: watts, age: clampedAge) : .stale(watts: watts, age: clampedAge)
        }
    }

    /// A finite number in plain decimal notation (`12.34`, `1700000000`); rejects the
    /// `nan`, `inf` and hexadecimal forms `Double(_:)` would also accept.
    public static func decimal(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.allSatisfy({ "0123456789+-.eE".contains($0) }),
            let value = Double(trimmed), value.isFinite
        else { return nil }
        return value
    }
}

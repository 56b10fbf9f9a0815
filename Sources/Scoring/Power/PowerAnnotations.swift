import AnnotationContract
import Foundation

/// Reads the live-power node annotations the monitor publishes (``PowerAnnotationContract``)
/// and judges their age: a reading is used only while it is younger than ``maxAge`` relative
/// to an injected `now`, so tests and replays are deterministic.
public struct PowerAnnotations: Sendable, Hashable {
    /// The prefix the monitor uses unless configured otherwise (as the thesis did).
    public static let defaultPrefix = PowerAnnotationContract.defaultPrefix
    /// How old a reading may be and still count, in seconds (the thesis plugin's 30 s).
    public static let defaultMaxAge: Double = 30

    /// The keys and value format.
    public var contract: PowerAnnotationContract
    /// Readings this many seconds old or older are stale.
    public var maxAge: Double

    /// Creates a reader for `prefix` with freshness limit `maxAge` seconds.
    public init(prefix: String = PowerAnnotations.defaultPrefix, maxAge: Double = PowerAnnotations.defaultMaxAge) {
        self.contract = PowerAnnotationContract(prefix: prefix)
        self.maxAge = maxAge
    }

    /// The annotation prefix, without the trailing slash.
    public var prefix: String { contract.prefix }
    /// The key of the watts annotation.
    public var wattsKey: String { contract.wattsKey }
    /// The key of the timestamp annotation.
    public var lastUpdatedKey: String { contract.lastUpdatedKey }

    /// The annotations the monitor writes for a reading of `watts` taken at `time`.
    public func annotations(watts: Double, at time: Date) -> [String: String] {
        let milliseconds = (time.timeIntervalSince1970 * 1000).rounded(.down)
        return contract.annotations(watts: watts, timestampMilliseconds: Int64(exactly: milliseconds) ?? 0)
    }

    /// Interprets a node's annotations at time `now`.
    ///
    /// A timestamp slightly in the future (clocks of monitor and scheduler disagree) counts as
    /// age 0; one more than ``maxAge`` ahead cannot come from a working clock and is invalid.
    public func read(_ annotations: [String: String], now: Date) -> LivePower {
        switch contract.read(annotations) {
        case .absent:
            return .absent
        case .invalid(let reason):
            return .invalid(reason: reason)
        case .value(let watts, let updated):
            let age = now.timeIntervalSince1970 - updated
            guard age > -maxAge else {
                return .invalid(reason: "\(lastUpdatedKey): \(String(format: "%.0f", -age)) s in the future")
            }
            let clampedAge = max(0, age)
            return clampedAge < maxAge ? .fresh(watts: watts, age: clampedAge) : .stale(watts: watts, age: clampedAge)
        }
    }

    /// A finite number in plain decimal notation (``AnnotationDecimal``).
    public static func decimal(_ text: String) -> Double? {
        AnnotationDecimal.parse(text)
    }
}

import Foundation

/// The node annotations through which the monitor hands live power to the scheduler, defined
/// once for both sides: `<prefix>/current-watts` holds watts as `"%.2f"` and
/// `<prefix>/last-updated` the unix second the sample was taken, written together in one
/// merge patch. The freshness rule (how old a value may be) is the scorer's, not part of
/// the contract.
public struct PowerAnnotationContract: Sendable, Hashable {
    /// The prefix the monitor uses unless configured otherwise (as the thesis did).
    public static let defaultPrefix = "energy.thesis.io"

    /// What a node's annotations say, without judging their age.
    public enum Published: Sendable, Hashable {
        /// Neither annotation is present (nobody publishes power for this node).
        case absent
        /// A value: `watts` taken at unix time `lastUpdatedSeconds`.
        case value(watts: Double, lastUpdatedSeconds: Double)
        /// The annotations are present but unusable; `reason` says why in one line.
        case invalid(reason: String)
    }

    /// The annotation prefix, without the trailing slash.
    public var prefix: String

    /// The contract for keys under `prefix`.
    public init(prefix: String = PowerAnnotationContract.defaultPrefix) {
        self.prefix = prefix
    }

    /// The key of the watts annotation.
    public var wattsKey: String { "\(prefix)/current-watts" }
    /// The key of the timestamp annotation.
    public var lastUpdatedKey: String { "\(prefix)/last-updated" }

    /// The two annotations for a sample of `watts` taken at unix time `timestampMilliseconds`:
    /// watts with two decimals, the time in whole seconds (rounded down).
    public func annotations(watts: Double, timestampMilliseconds: Int64) -> [String: String] {
        [
            wattsKey: Self.formatWatts(watts),
            lastUpdatedKey: Self.formatSeconds(milliseconds: timestampMilliseconds),
        ]
    }

    /// Watts as the annotation carries them: `"%.2f"`.
    public static func formatWatts(_ watts: Double) -> String {
        String(format: "%.2f", watts)
    }

    /// Unix milliseconds as whole unix seconds, rounded towards minus infinity.
    public static func formatSeconds(milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        return String(milliseconds % 1000 < 0 ? seconds - 1 : seconds)
    }

    /// Reads a node's annotations. Malformed values are reported, never guessed.
    public func read(_ annotations: [String: String]) -> Published {
        switch (annotations[wattsKey], annotations[lastUpdatedKey]) {
        case (nil, nil):
            return .absent
        case (nil, _):
            return .invalid(reason: "\(wattsKey) missing while \(lastUpdatedKey) is set")
        case (_, nil):
            return .invalid(reason: "\(lastUpdatedKey) missing while \(wattsKey) is set")
        case (let wattsText?, let updatedText?):
            guard let watts = AnnotationDecimal.parse(wattsText), watts >= 0 else {
                return .invalid(reason: "\(wattsKey): not a non-negative number (\"\(wattsText)\")")
            }
            guard let updated = AnnotationDecimal.parse(updatedText) else {
                return .invalid(reason: "\(lastUpdatedKey): not unix seconds (\"\(updatedText)\")")
            }
            return .value(watts: watts, lastUpdatedSeconds: updated)
        }
    }
}

import EnergyModel

/// The `from` and `to` of a query, validated: times as RFC 3339, unix seconds, `now` or
/// `now-1h` (an absent or empty one takes its default), `to` after `from`, and at most a
/// given number of days between them.
public struct QueryWindow: Sendable, Equatable {
    /// Window start, unix milliseconds.
    public var fromMilliseconds: Int64
    /// Window end (exclusive), unix milliseconds.
    public var toMilliseconds: Int64

    /// Where the window starts when `from` is absent.
    public enum DefaultStart: Sendable, Equatable {
        /// This long before now, whatever `to` is (`now-1h`).
        case beforeNow(milliseconds: Int64)
        /// This long before the window's end.
        case beforeEnd(milliseconds: Int64)
    }

    /// A window of already validated values.
    public init(fromMilliseconds: Int64, toMilliseconds: Int64) {
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
    }

    /// Validates raw parameters (nil or empty when absent); `to` defaults to now.
    /// - Parameters:
    ///   - maxDays: the longest window accepted, nil for no limit.
    ///   - nowMilliseconds: the time `now` stands for.
    public init(
        from: String?, to: String?, defaultStart: DefaultStart, maxDays: Int64?, nowMilliseconds: Int64
    ) throws(QueryError) {
        let start = try Self.time(from, .from, nowMilliseconds: nowMilliseconds)
        toMilliseconds = try Self.time(to, .to, nowMilliseconds: nowMilliseconds) ?? nowMilliseconds
        switch (start, defaultStart) {
        case (let start?, _): fromMilliseconds = start
        case (nil, .beforeNow(let length)): fromMilliseconds = Self.subtracting(length, from: nowMilliseconds)
        case (nil, .beforeEnd(let length)): fromMilliseconds = Self.subtracting(length, from: toMilliseconds)
        }
        guard toMilliseconds > fromMilliseconds else {
            throw QueryError(.to, [.text("must be after "), .parameter(.from)])
        }
        if let maxDays {
            // Parsed times lie within the years 1 to 9999 (TimeParsing), but the defaults and
            // the limit come from the caller: no arithmetic here may trap.
            let limit = maxDays.multipliedReportingOverflow(by: 86_400_000)
            let length = toMilliseconds.subtractingReportingOverflow(fromMilliseconds)
            if !limit.overflow, length.overflow || length.partialValue > limit.partialValue {
                throw QueryError(.from, "the window is longer than \(maxDays) days")
            }
        }
    }

    /// `time - length`, or the earliest (latest) time there is when that is out of range.
    private static func subtracting(_ length: Int64, from time: Int64) -> Int64 {
        let (value, overflow) = time.subtractingReportingOverflow(length)
        return overflow ? (length > 0 ? .min : .max) : value
    }

    /// The window's length, milliseconds (`Int64.max` for a window longer than that).
    public var milliseconds: Int64 {
        let (length, overflow) = toMilliseconds.subtractingReportingOverflow(fromMilliseconds)
        return overflow ? .max : length
    }

    private static func time(_ text: String?, _ parameter: QueryParameter, nowMilliseconds: Int64) throws(QueryError)
        -> Int64?
    {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try TimeParsing.milliseconds(text, nowMilliseconds: nowMilliseconds)
        } catch {
            throw QueryError(parameter, error.description)
        }
    }
}

import Foundation

/// The price of a kilowatt-hour: one price, or a time-of-use table over it. Times of the table
/// are wall-clock times of `timeZone` (UTC unless the configuration names one), so a table
/// follows daylight saving time where the zone has it.
public struct Tariff: Sendable, Equatable {
    /// One row of the time-of-use table: on the given weekdays, from one wall-clock minute of
    /// the day until another, this price.
    public struct Period: Sendable, Equatable {
        /// ISO weekdays the row applies on: 1 is Monday, 7 Sunday.
        public var weekdays: Set<Int>
        /// First minute of the day the row applies, 0...1439.
        public var fromMinute: Int
        /// The minute of the day it stops applying (exclusive), 1...1440, after `fromMinute`.
        public var toMinute: Int
        /// The price per kilowatt-hour while it applies.
        public var perKWh: Double

        /// A row.
        public init(weekdays: Set<Int>, fromMinute: Int, toMinute: Int, perKWh: Double) {
            self.weekdays = weekdays
            self.fromMinute = fromMinute
            self.toMinute = toMinute
            self.perKWh = perKWh
        }
    }

    /// The price when no row of the table applies.
    public var perKWh: Double
    /// The currency of every price (an ISO 4217 code such as `EUR`).
    public var currency: String
    /// The time-of-use table; the first row that applies wins.
    public var periods: [Period]
    /// The zone of the table's wall-clock times.
    public var timeZone: TimeZone

    /// A tariff; one price at all times unless `periods` are given.
    public init(
        perKWh: Double, currency: String, periods: [Period] = [],
        timeZone: TimeZone = TimeZone(secondsFromGMT: 0) ?? .current
    ) {
        self.perKWh = perKWh
        self.currency = currency
        self.periods = periods
        self.timeZone = timeZone
    }

    /// The price in force at `time` (unix milliseconds).
    ///
    /// Rows start and end on whole minutes of the zone's wall clock, and zone offsets are
    /// whole minutes, so the price only changes at a minute boundary: an integral split at
    /// every minute boundary finds every change without asking for it.
    public func price(at time: Int64) -> Double {
        guard !periods.isEmpty else { return perKWh }
        let offsetSeconds = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(time) / 1000))
        let local = time.addingReportingOverflow(Int64(offsetSeconds) * 1000).partialValue
        let day = Self.floorDiv(local, 86_400_000)
        // 1970-01-01 was a Thursday (ISO weekday 4).
        let weekday = Int(truncatingIfNeeded: Self.floorMod(day + 3, 7)) + 1
        let minute = Int(truncatingIfNeeded: (local - day * 86_400_000) / 60_000)
        for period in periods
        where period.weekdays.contains(weekday) && minute >= period.fromMinute && minute < period.toMinute {
            return period.perKWh
        }
        return perKWh
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return a % b < 0 ? quotient - 1 : quotient
    }

    private static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        let remainder = a % b
        return remainder < 0 ? remainder + b : remainder
    }
}

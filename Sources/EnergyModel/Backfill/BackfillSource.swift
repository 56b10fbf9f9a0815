/// Where backfilled energy came from. The values are the `source` label of
/// `energy_monitor_backfilled_joules_total` and the `source` column of the `power_minute` view.
public enum BackfillSource: String, Sendable, CaseIterable, Comparable {
    /// The device's cumulative counter: the difference between the last reading before the gap
    /// and the first after it, spread evenly over the part of the gap no per-minute figure covers.
    case counter
    /// The per-minute figures of the device's status: Gen2+ `aenergy.by_minute` (the last three
    /// whole minutes before `minute_ts`), Gen1 `meters[].counters`.
    case minutes
    /// The device's stored history: EMData and EM1Data records, Gen1 `em_data.csv`.
    case history

    /// Whether the energy lies in the minute it was measured in (the device's own figure for
    /// that minute), rather than spread evenly over the gap.
    public var isPerMinute: Bool { self != .counter }

    /// In declaration order.
    public static func < (a: BackfillSource, b: BackfillSource) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

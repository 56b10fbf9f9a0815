import EnergyModel

extension EnergyStore {
    /// The bounds of a cached intensity: 0 to 10,000 g/kWh (coal plants emit some 1,000).
    static let gramsPerKWh: ClosedRange<Double> = 0...10_000

    /// Caches carbon intensities of `zone` (`grid_intensity`), each in force from its time
    /// until the next; a value already cached for a time is replaced (a corrected figure).
    /// Values out of range are left out.
    public func cacheIntensity(zone: String, steps: [StepSeries.Step], fetchedMilliseconds: Int64)
        async throws(StoreError)
    {
        try await run { () throws(StoreError) in
            try self.database.transaction { () throws(StoreError) in
                let statement = try self.database.prepare(
                    "INSERT OR REPLACE INTO grid_intensity (zone, ts_ms, grams_per_kwh, fetched_ms) VALUES (?, ?, ?, ?)"
                )
                for step in steps
                where Self.gramsPerKWh.contains(step.value) && StoredSample.times.contains(step.startMilliseconds) {
                    statement.reset()
                    statement.bind(1, zone)
                    statement.bind(2, step.startMilliseconds)
                    statement.bind(3, step.value)
                    statement.bind(4, fetchedMilliseconds)
                    try statement.step()
                }
            }
        }
    }

    /// The cached intensities of `zone` from the last one in force at `fromMilliseconds` on
    /// (all of them by default), as a step series. A row out of range is skipped.
    public func cachedIntensity(zone: String, fromMilliseconds: Int64 = .min) async throws(StoreError) -> StepSeries {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> StepSeries in
            let statement = try reader.prepare(
                """
                SELECT ts_ms, grams_per_kwh FROM grid_intensity WHERE zone = ?1 AND ts_ms >= coalesce(
                    (SELECT max(ts_ms) FROM grid_intensity WHERE zone = ?1 AND ts_ms <= ?2), ?2) ORDER BY ts_ms
                """)
            statement.bind(1, zone)
            statement.bind(2, fromMilliseconds)
            var steps: [StepSeries.Step] = []
            while try statement.step() {
                guard let time = statement.storedInt(0), let grams = statement.storedDouble(1),
                    Self.gramsPerKWh.contains(grams)
                else { continue }
                steps.append(StepSeries.Step(startMilliseconds: time, value: grams))
            }
            return StepSeries(steps: steps)
        }
    }
}

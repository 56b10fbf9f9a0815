import EnergyModel

extension EnergyStore {
    /// The average power of one node over one step of a downsampled series.
    public struct PowerBucket: Sendable, Equatable {
        /// Start of the step, unix milliseconds.
        public var startMilliseconds: Int64
        /// Time of the newest sample in the step, unix milliseconds.
        public var lastSampleMilliseconds: Int64
        /// Mean of the samples in the step, watts.
        public var averageWatts: Double
        /// Number of samples (raw samples, or the samples behind minute aggregates).
        public var samples: Int

        /// Creates a bucket.
        public init(startMilliseconds: Int64, lastSampleMilliseconds: Int64, averageWatts: Double, samples: Int) {
            self.startMilliseconds = startMilliseconds
            self.lastSampleMilliseconds = lastSampleMilliseconds
            self.averageWatts = averageWatts
            self.samples = samples
        }
    }

    /// The power of `node` over `[from, to)` averaged per `step` (all unix milliseconds),
    /// oldest first; steps without samples are left out, so a gap stays visible. Before the
    /// fold watermark the minute aggregates answer (weighted by their sample counts), after it
    /// the raw samples. The SQL groups the rows, so a long window costs one pass, not one
    /// Swift value per sample.
    public func powerSeries(
        node: String,
        fromMilliseconds from: Int64,
        toMilliseconds to: Int64,
        stepMilliseconds step: Int64
    ) async throws(StoreError) -> [PowerBucket] {
        try await run { () throws(StoreError) in
            var id = self.nodeIDs[node]
            if id == nil { id = try self.lookupNodeID(node) }
            guard to > from, step > 0, let id else { return [] }
            let watermark = try self.meta("folded_until_ms") ?? Int64.min
            var buckets: [Int64: PowerBucket] = [:]
            func add(_ bucket: PowerBucket) {
                guard var existing = buckets[bucket.startMilliseconds] else {
                    buckets[bucket.startMilliseconds] = bucket
                    return
                }
                let total = existing.samples + bucket.samples
                existing.averageWatts =
                    (existing.averageWatts * Double(existing.samples) + bucket.averageWatts * Double(bucket.samples))
                    / Double(max(total, 1))
                existing.samples = total
                existing.lastSampleMilliseconds = max(existing.lastSampleMilliseconds, bucket.lastSampleMilliseconds)
                buckets[bucket.startMilliseconds] = existing
            }
            if from < watermark {
                let minutes = try self.database.prepare(
                    """
                    SELECT (minute * 60000 - ?1) / ?3, max(minute * 60000), sum(avg_watts * samples), sum(samples)
                    FROM minute WHERE node_id = ?2 AND minute * 60000 >= ?1 AND minute * 60000 < ?4
                    GROUP BY 1 ORDER BY 1
                    """
                )
                minutes.bind(1, from)
                minutes.bind(2, id)
                minutes.bind(3, step)
                minutes.bind(4, min(to, watermark))
                while try minutes.step() {
                    let count = minutes.int(3)
                    guard count > 0 else { continue }
                    add(
                        PowerBucket(
                            startMilliseconds: from + minutes.int(0) * step,
                            lastSampleMilliseconds: minutes.int(1),
                            averageWatts: minutes.double(2) / Double(count),
                            samples: Int(count)
                        )
                    )
                }
            }
            let rawFrom = max(from, watermark)
            if to > rawFrom {
                let raw = try self.database.prepare(
                    """
                    SELECT (ts_ms - ?1) / ?3, max(ts_ms), avg(milliwatts), count(*)
                    FROM sample WHERE node_id = ?2 AND ts_ms >= ?4 AND ts_ms < ?5
                    GROUP BY 1 ORDER BY 1
                    """
                )
                raw.bind(1, from)
                raw.bind(2, id)
                raw.bind(3, step)
                raw.bind(4, rawFrom)
                raw.bind(5, to)
                while try raw.step() {
                    add(
                        PowerBucket(
                            startMilliseconds: from + raw.int(0) * step,
                            lastSampleMilliseconds: raw.int(1),
                            averageWatts: raw.double(2) / 1000,
                            samples: Int(raw.int(3))
                        )
                    )
                }
            }
            return buckets.values.sorted { $0.startMilliseconds < $1.startMilliseconds }
        }
    }

    /// The newest raw sample of `node`, if any.
    public func latestSample(node: String) async throws(StoreError) -> Sample? {
        try await run { () throws(StoreError) in
            var id = self.nodeIDs[node]
            if id == nil { id = try self.lookupNodeID(node) }
            guard let id else { return nil }
            let statement = try self.database.prepare(
                """
                SELECT ts_ms, milliwatts, centivolts, milliamps, device_mwh FROM sample
                WHERE node_id = ? ORDER BY ts_ms DESC LIMIT 1
                """
            )
            statement.bind(1, id)
            guard try statement.step() else { return nil }
            return Sample(
                node: node,
                timestampMilliseconds: statement.int(0),
                reading: Reading(
                    watts: Double(statement.int(1)) / 1000,
                    volts: statement.optionalInt(2).map { Double($0) / 100 },
                    amps: statement.optionalInt(3).map { Double($0) / 1000 },
                    energyWattHours: statement.optionalInt(4).map { Double($0) / 1000 }
                )
            )
        }
    }
}

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
    /// the raw samples, decoded and grouped in one pass.
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
            return try self.database.read { () throws(StoreError) in try self.series(id, from: from, to: to, step: step) }
        }
    }

    private func series(_ id: Int64, from: Int64, to: Int64, step: Int64) throws(StoreError) -> [PowerBucket] {
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
            var raw: [Int64: (last: Int64, sum: Int64, count: Int)] = [:]
            for sample in try self.storedSamples(id, from: rawFrom, to: to - 1) {
                let index = (sample.timestampMilliseconds - from) / step
                var bucket = raw[index] ?? (last: sample.timestampMilliseconds, sum: 0, count: 0)
                bucket.last = max(bucket.last, sample.timestampMilliseconds)
                bucket.sum += sample.milliwatts
                bucket.count += 1
                raw[index] = bucket
            }
            for (index, bucket) in raw {
                add(
                    PowerBucket(
                        startMilliseconds: from + index * step,
                        lastSampleMilliseconds: bucket.last,
                        averageWatts: Double(bucket.sum) / Double(bucket.count) / 1000,
                        samples: bucket.count
                    )
                )
            }
        }
        return buckets.values.sorted { $0.startMilliseconds < $1.startMilliseconds }
    }

    /// The newest raw sample of `node`, if any.
    public func latestSample(node: String) async throws(StoreError) -> Sample? {
        try await run { () throws(StoreError) in
            var id = self.nodeIDs[node]
            if id == nil { id = try self.lookupNodeID(node) }
            guard let id else { return nil }
            return try self.database.read { () throws(StoreError) -> Sample? in
                var newest = try self.recentSamples(only: id).max { $0.timestampMilliseconds < $1.timestampMilliseconds }
                let chunk = try self.database.prepare(
                    "SELECT \(Self.chunkColumns) FROM chunk WHERE node_id = ? ORDER BY start_ms DESC LIMIT 1"
                )
                chunk.bind(1, id)
                if try chunk.step(), let last = Self.chunk(chunk).samples().last,
                    last.timestampMilliseconds > newest?.timestampMilliseconds ?? .min
                {
                    newest = last
                }
                return newest?.sample(node: node)
            }
        }
    }
}

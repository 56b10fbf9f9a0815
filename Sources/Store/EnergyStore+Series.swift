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
    /// fold watermark the minute aggregates answer (weighted by their sample counts). After
    /// it, steps of a minute or more are answered from the per-minute sums kept with the
    /// packed chunks (`chunk_minute`), decoding only the minutes a step boundary or the
    /// window's edge cuts and the current minute's recent rows: the same answer as from every
    /// raw sample, at a few rows per hour instead of 3,600 decoded samples. Shorter steps
    /// decode the raw samples, grouped in one pass.
    public func powerSeries(
        node: String,
        fromMilliseconds from: Int64,
        toMilliseconds to: Int64,
        stepMilliseconds step: Int64
    ) async throws(StoreError) -> [PowerBucket] {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [PowerBucket] in
            guard to > from, step > 0, let id = try self.readerNodeID(node, in: reader) else { return [] }
            return try Self.series(reader, id, from: from, to: to, step: step)
        }
    }

    /// Steps at least this long are answered from the per-minute sums.
    static let minuteStepMilliseconds: Int64 = 60_000

    /// Raw buckets by step index: newest sample, sum of milliwatts, sample count.
    private struct RawBuckets {
        var from: Int64
        var step: Int64
        var buckets: [Int64: (last: Int64, sum: Int64, count: Int)] = [:]

        mutating func add(_ sample: StoredSample) {
            add(at: sample.timestampMilliseconds, last: sample.timestampMilliseconds, sum: sample.milliwatts, count: 1)
        }

        mutating func add(at time: Int64, last: Int64, sum: Int64, count: Int) {
            let index = (time - from) / step
            var bucket = buckets[index] ?? (last: last, sum: 0, count: 0)
            bucket.last = max(bucket.last, last)
            bucket.sum = bucket.sum.addingClamped(sum)
            bucket.count += count
            buckets[index] = bucket
        }
    }

    private static func series(_ db: SQLiteDatabase, _ id: Int64, from: Int64, to: Int64, step: Int64) throws(StoreError) -> [PowerBucket] {
        let watermark = try db.meta("folded_until_ms") ?? Int64.min
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
            let minutes = try db.prepare(
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
            var raw = RawBuckets(from: from, step: step)
            if step >= minuteStepMilliseconds {
                try addMinuteSums(db, id, from: rawFrom, to: to, into: &raw)
            } else {
                for sample in try db.storedSamples(id, from: rawFrom, to: to - 1) { raw.add(sample) }
            }
            for (index, bucket) in raw.buckets {
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

    /// Adds the samples of node `id` with `from <= time < to` to `raw`: a packed minute that
    /// lies whole inside the window and inside one step as its `chunk_minute` sums, a minute
    /// that a step boundary or the window's edge cuts sample by sample from its chunks, and
    /// the samples still in `recent` sample by sample. Every chunk insert adds to its
    /// minute's sums (`ChunkWriter`), so the sums hold exactly the packed samples.
    private static func addMinuteSums(_ db: SQLiteDatabase, _ id: Int64, from: Int64, to: Int64, into raw: inout RawBuckets) throws(StoreError) {
        let sums = try db.prepare(
            """
            SELECT minute, samples, sum_mw, last_ms FROM chunk_minute
            WHERE node_id = ?1 AND minute >= ?2 AND minute < ?3 ORDER BY minute
            """
        )
        sums.bind(1, id)
        sums.bind(2, floorDiv(from, 60_000))
        sums.bind(3, floorDiv(to - 1, 60_000) + 1)
        var cut: [Int64] = []
        while try sums.step() {
            let start = sums.int(0) * 60_000
            let end = start + 60_000
            let whole = start >= from && end <= to && (start - raw.from) / raw.step == (end - 1 - raw.from) / raw.step
            guard whole else {
                cut.append(start)
                continue
            }
            raw.add(at: start, last: sums.int(3), sum: sums.int(2), count: Int(sums.int(1)))
        }
        if !cut.isEmpty {
            let chunks = try db.prepare(chunksOfNode)
            for start in cut {
                try forEachPackedSample(id, from: max(start, from), to: min(start + 59_999, to - 1), using: chunks) { raw.add($0) }
            }
        }
        var recent = try db.recentSamples(only: id).filter { $0.timestampMilliseconds >= from && $0.timestampMilliseconds < to }
        recent.normalizeOrder()
        for sample in recent { raw.add(sample) }
    }

    /// The newest raw sample of `node`, if any.
    public func latestSample(node: String) async throws(StoreError) -> Sample? {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> Sample? in
            guard let id = try self.readerNodeID(node, in: reader) else { return nil }
            var newest = try reader.recentSamples(only: id).max { $0.timestampMilliseconds < $1.timestampMilliseconds }
            let chunk = try reader.prepare("SELECT \(Self.chunkColumns) FROM chunk WHERE node_id = ? ORDER BY start_ms DESC LIMIT 1")
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

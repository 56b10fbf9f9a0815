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
        let watermark = try db.foldedUntil() ?? Int64.min
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
            // Minute rows one by one, each checked (an aggregate in SQL would overflow or
            // turn infinite on one bad row and fail the whole answer), summed per step.
            let end = min(to, watermark)
            let minutes = try db.prepare(
                "SELECT \(MinuteRow.columns) FROM minute "
                    + "WHERE node_id = ?1 AND minute >= ?2 AND minute < ?3 ORDER BY minute"
            )
            minutes.bind(1, id)
            minutes.bind(2, floorDiv(from.addingClamped(59_999), 60_000))
            minutes.bind(3, floorDiv(end.addingClamped(59_999), 60_000))
            var steps: [Int64: (last: Int64, sum: Double, count: Int)] = [:]
            while try minutes.step() {
                let row: MinuteRow
                do throws(StoredRowDefect) { row = try MinuteRow(minutes) } catch {
                    let start = minutes.int(0).multipliedReportingOverflow(by: 60_000).partialValue
                    db.skipped(.minute, nodeID: id, start: start, error)
                    continue
                }
                let start = row.startMilliseconds
                guard row.samples > 0, start >= from, start < end else { continue }
                let index = (start - from) / step
                var bucket = steps[index] ?? (last: start, sum: 0, count: 0)
                bucket.last = max(bucket.last, start)
                bucket.sum += row.averageWatts * Double(row.samples)
                bucket.count += row.samples
                steps[index] = bucket
            }
            for (index, bucket) in steps {
                add(
                    PowerBucket(
                        startMilliseconds: from + index * step,
                        lastSampleMilliseconds: bucket.last,
                        averageWatts: bucket.sum / Double(bucket.count),
                        samples: bucket.count
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
            guard let minute = sums.storedInt(0), MinuteRow.minutes.contains(minute) else {
                db.skipped(.chunkMinute, nodeID: id, start: nil, StoredRowDefect("minute out of range"))
                continue
            }
            let start = minute * 60_000
            let end = start + 60_000
            let whole = start >= from && end <= to && (start - raw.from) / raw.step == (end - 1 - raw.from) / raw.step
            guard whole else {
                cut.append(start)
                continue
            }
            // A sum out of range is reported and the minute read from its chunks instead.
            guard let samples = sums.storedInt(1), (1...MinuteRow.samplesPerMinute.upperBound).contains(samples),
                let sum = sums.storedInt(2),
                sum.magnitude <= UInt64(samples) * StoredSample.milliwattRange.upperBound.magnitude,
                let last = sums.storedInt(3), (start..<end).contains(last)
            else {
                db.skipped(
                    .chunkMinute, nodeID: id, start: start, StoredRowDefect("samples, sum_mw or last_ms out of range"))
                cut.append(start)
                continue
            }
            raw.add(at: start, last: last, sum: sum, count: Int(samples))
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
            // The newest chunk that can be decoded (a bad one is skipped and reported).
            let chunk = try reader.prepare(
                "SELECT \(Self.chunkColumns) FROM chunk WHERE node_id = ? ORDER BY start_ms DESC")
            chunk.bind(1, id)
            while try chunk.step() {
                let samples: [StoredSample]
                do throws(StoredRowDefect) { samples = try Self.chunk(chunk).decoded(node: id) } catch {
                    reader.skipped(.chunk, nodeID: id, start: chunk.int(0), error)
                    continue
                }
                if let last = samples.max(by: { $0.timestampMilliseconds < $1.timestampMilliseconds }),
                    last.timestampMilliseconds > newest?.timestampMilliseconds ?? .min
                {
                    newest = last
                }
                break
            }
            return newest?.sample(node: node)
        }
    }
}

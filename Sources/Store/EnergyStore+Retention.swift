import EnergyModel

extension EnergyStore {
    /// What one retention step did.
    public struct RetentionStep: Sendable, Equatable {
        /// Minute rows written.
        public var minutesWritten: Int
        /// Raw samples deleted.
        public var samplesDeleted: Int
        /// Expired minute rows deleted.
        public var minutesDeleted: Int
        /// Whether more raw samples are due for folding.
        public var moreToDo: Bool
    }

    /// The fold watermark: raw samples before it are represented by minute rows.
    public func foldedUntil() async throws(StoreError) -> Int64? {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> Int64? in try reader.foldedUntil() }
    }

    /// Folds raw samples older than `rawCutoff` into minute aggregates and deletes them, at
    /// most `maxSamples` at a time (one short transaction, so ticks queued meanwhile wait
    /// only briefly); deletes minute rows (and energy recorded for gaps) older than
    /// `minuteCutoff`; gives freed pages back.
    /// Call again while `moreToDo`.
    public func retentionStep(
        rawCutoffMilliseconds: Int64, minuteCutoffMilliseconds: Int64, maxGapMilliseconds: Int64,
        maxSamples: Int = 20_000
    ) async throws(StoreError) -> RetentionStep {
        try await run { () throws(StoreError) in
            try self.retentionStepSynchronously(
                rawCutoff: rawCutoffMilliseconds, minuteCutoff: minuteCutoffMilliseconds, maxGap: maxGapMilliseconds,
                maxSamples: maxSamples
            )
        }
    }

    private func retentionStepSynchronously(rawCutoff: Int64, minuteCutoff: Int64, maxGap: Int64, maxSamples: Int)
        throws(StoreError) -> RetentionStep
    {
        var step = RetentionStep(minutesWritten: 0, samplesDeleted: 0, minutesDeleted: 0, moreToDo: false)
        let cutoff = Self.floorDiv(rawCutoff, 60_000) * 60_000
        // Samples due for folding that are still recent rows (packing failed for a long
        // time, or the cutoff is now) are packed first, so that they are folded and expire
        // like every other sample.
        if try database.scalarInt("SELECT count(*) FROM recent WHERE start_ms < \(cutoff)") > 0 {
            try pack(before: cutoff)
        }
        try database.transaction { () throws(StoreError) in
            var watermark = try database.foldedUntil()
            if watermark == nil {
                // Rows with a start outside the years 1 to 9999 are bad rows (skipped when read):
                // they must not set the watermark.
                let oldest = try database.prepare(
                    """
                    SELECT min(coalesce((SELECT min(start_ms) FROM chunk WHERE start_ms BETWEEN ?1 AND ?2), 9e18),
                               coalesce((SELECT min(start_ms) FROM recent WHERE start_ms BETWEEN ?1 AND ?2), 9e18))
                    """
                )
                oldest.bind(1, StoredSample.times.lowerBound)
                oldest.bind(2, StoredSample.times.upperBound)
                guard try oldest.step(), oldest.double(0) < 9e18, let first = oldest.storedInt(0) else { return }
                watermark = Self.minuteStart(first)
            }
            guard let start = watermark, cutoff > start else { return }
            let nodeCount = max(1, try database.scalarInt("SELECT count(*) FROM node"))
            // Minutes per batch so that one batch touches about maxSamples samples at 1 Hz.
            let minutes = max(1, Int64(maxSamples) / (nodeCount * 60))
            let end = min(cutoff, start + minutes * 60_000)
            let insert = try database.prepare(
                """
                INSERT OR REPLACE INTO minute (node_id, minute, samples, avg_watts, min_watts, max_watts, joules, covered_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
            )
            let nodeIDs = try database.allNodeIDs()
            for id in nodeIDs {
                let points = try database.points(id, from: start - maxGap, to: end + maxGap)
                guard !points.isEmpty else { continue }
                var minute = start
                while minute < end {
                    let window = WindowEnergy.integrate(
                        points: points, from: minute, to: minute + 60_000, maxGapMilliseconds: maxGap)
                    if window.samples > 0 || window.coveredMilliseconds > 0 {
                        insert.reset()
                        insert.bind(1, id)
                        insert.bind(2, minute / 60_000)
                        insert.bind(3, Int64(window.samples))
                        let mean =
                            window.samples > 0 ? window.sumWatts / Double(window.samples) : (window.averageWatts ?? 0)
                        insert.bind(4, mean)
                        insert.bind(5, window.minWatts ?? mean)
                        insert.bind(6, window.peakWatts ?? mean)
                        insert.bind(7, window.joules)
                        insert.bind(8, window.coveredMilliseconds)
                        try insert.step()
                        step.minutesWritten += 1
                    }
                    minute += 60_000
                }
            }
            // Keep the last samples before the watermark (the next batch interpolates from
            // them): the chunks of the minute that holds the largest gap before it. Recent
            // rows are left to packing. The per-minute sums of the deleted chunks go with
            // them (queries before the watermark read the minute rows instead).
            let keepFrom = Self.floorDiv(end - maxGap, 60_000) * 60_000
            // total(), not sum(): a bad row's sample count must not make the sum overflow and
            // fail every retention step from then on.
            let countChunks = try database.prepare(
                "SELECT total(samples) FROM chunk WHERE node_id = ? AND start_ms < ?")
            let deleteChunks = try database.prepare("DELETE FROM chunk WHERE node_id = ? AND start_ms < ?")
            let deleteSums = try database.prepare("DELETE FROM chunk_minute WHERE node_id = ? AND minute < ?")
            for id in nodeIDs {
                for statement in [countChunks, deleteChunks] {
                    statement.reset()
                    statement.bind(1, id)
                    statement.bind(2, keepFrom)
                }
                deleteSums.reset()
                deleteSums.bind(1, id)
                deleteSums.bind(2, keepFrom / 60_000)
                if try countChunks.step() {
                    let (total, overflow) = step.samplesDeleted.addingReportingOverflow(
                        Int(clampingRounding: countChunks.double(0)))
                    step.samplesDeleted = overflow ? .max : total
                }
                try deleteChunks.step()
                try deleteSums.step()
            }
            try database.setMeta("folded_until_ms", end)
            step.moreToDo = end < cutoff
        }
        try database.transaction { () throws(StoreError) in
            let expire = try database.prepare("DELETE FROM minute WHERE minute < ?")
            expire.bind(1, Self.floorDiv(minuteCutoff, 60_000))
            try expire.step()
            step.minutesDeleted = Int(database.changes)
            // The energy recorded for gaps lives as long as the minute rows.
            let expireBackfill = try database.prepare("DELETE FROM backfill WHERE start_ms < ?")
            expireBackfill.bind(1, Self.floorDiv(minuteCutoff, 60_000) * 60_000)
            try expireBackfill.step()
            // So do the pods' shares of it.
            let expirePods = try database.prepare("DELETE FROM pod_minute WHERE minute < ?")
            expirePods.bind(1, Self.floorDiv(minuteCutoff, 60_000))
            try expirePods.step()
        }
        if step.samplesDeleted > 0 || step.minutesDeleted > 0 {
            // Give freed pages back to the file system, a bounded amount per step.
            try database.execute("PRAGMA incremental_vacuum(2000)")
        }
        return step
    }
}

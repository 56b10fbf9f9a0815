extension EnergyStore {
    /// What `rewind(toMilliseconds:)` took out.
    public struct Rewind: Sendable, Equatable {
        /// Samples stamped at or after the mark, forgotten.
        public var samples: Int
        /// The newest time among them (unix milliseconds), nil when there were none.
        public var newestMilliseconds: Int64?

        /// A record of a rewind.
        public init(samples: Int, newestMilliseconds: Int64?) {
            self.samples = samples
            self.newestMilliseconds = newestMilliseconds
        }
    }

    /// Forgets everything stamped at or after `mark` (unix milliseconds): the samples, raw and
    /// packed, the energy recorded for gaps reaching past it, the per-minute sums and minute rows
    /// of the minutes from `mark`'s on, and the
    /// packing and folding marks beyond it; the samples of `mark`'s minute taken before it stay
    /// (they wait to be packed again with the minute's new ones, so no minute is ever stored as
    /// two chunks). Every node's last sample time is brought back before the mark.
    ///
    /// For a wall clock that was ahead: the samples it stamped lie in a future that the clock,
    /// once corrected, reaches again; kept, they would stand beside new samples of the same
    /// times (two rows for one second, a minute packed twice).
    public func rewind(toMilliseconds mark: Int64) async throws(StoreError) -> Rewind {
        try await run { () throws(StoreError) in try self.rewindSynchronously(to: mark) }
    }

    private func rewindSynchronously(to mark: Int64) throws(StoreError) -> Rewind {
        let minuteStart = Self.floorDiv(mark, 60_000) * 60_000
        let result = try database.transaction { () throws(StoreError) -> Rewind in
            var kept: [StoredSample] = []
            var forgotten = 0
            var newest: Int64?
            func sort(_ sample: StoredSample) {
                if sample.timestampMilliseconds < mark {
                    kept.append(sample)
                } else {
                    forgotten += 1
                    newest = max(newest ?? sample.timestampMilliseconds, sample.timestampMilliseconds)
                }
            }
            // Packed minutes from the mark's on: taken apart, their earlier samples kept.
            let chunks = try database.prepare("SELECT \(Self.chunkColumns), node_id FROM chunk WHERE start_ms >= ?")
            chunks.bind(1, minuteStart)
            let nodeColumn = Int32(3 + 3 * SampleChunk.valueFieldNames.count + 1)
            while try chunks.step() {
                do throws(StoredRowDefect) {
                    for sample in try Self.chunk(chunks).decoded(node: chunks.int(nodeColumn)) { sort(sample) }
                } catch {
                    database.skipped(.chunk, nodeID: chunks.int(nodeColumn), start: chunks.int(0), error)
                }
            }
            // The unpacked samples: the current minute's, and a backlog's.
            let recent = try database.prepare("SELECT \(Self.recentColumns) FROM recent")
            while try recent.step() {
                do throws(StoredRowDefect) {
                    for sample in try Self.recentRow(recent).decoded() { sort(sample) }
                } catch {
                    database.skipped(.recent, nodeID: nil, start: recent.int(0), error)
                }
            }
            guard forgotten > 0 || packedUntil > minuteStart else { return Rewind(samples: 0, newestMilliseconds: nil) }
            for sql in [
                "DELETE FROM chunk WHERE start_ms >= ?1", "DELETE FROM recent",
                "DELETE FROM chunk_minute WHERE minute >= ?2", "DELETE FROM minute WHERE minute >= ?2",
                "DELETE FROM backfill WHERE end_ms > ?3 + 1",
                "UPDATE node SET last_ts_ms = ?3 WHERE last_ts_ms >= ?3",
            ] {
                let statement = try database.prepare(sql)
                statement.bind(1, minuteStart)
                statement.bind(2, minuteStart / 60_000)
                statement.bind(3, mark - 1)
                try statement.step()
            }
            kept.sort { $0.timestampMilliseconds < $1.timestampMilliseconds }
            try insertRecent(kept)
            if packedUntil > minuteStart { try database.setMeta("packed_until_ms", minuteStart) }
            if let folded = try database.meta("folded_until_ms"), folded > minuteStart {
                try database.setMeta("folded_until_ms", minuteStart)
            }
            return Rewind(samples: forgotten, newestMilliseconds: newest)
        }
        packedUntil = min(packedUntil, minuteStart)
        // The counters are written again with the next tick.
        committedCounters = [:]
        return result
    }
}

import EnergyModel

extension EnergyStore {
    /// Inserts the energy recorded for gaps, one row per part (a part replaces one of the same
    /// node and start). Store queue only, inside the tick's transaction.
    func insertBackfill(_ backfill: [String: [BackfillPart]]) throws(StoreError) {
        guard backfill.contains(where: { !$0.value.isEmpty }) else { return }
        if insertBackfillPart == nil {
            insertBackfillPart = try database.prepare(
                "INSERT OR REPLACE INTO backfill (node_id, start_ms, end_ms, joules, source) VALUES (?, ?, ?, ?, ?)")
        }
        guard let statement = insertBackfillPart else { return }
        for (node, parts) in backfill.sorted(by: { $0.key < $1.key }) where !parts.isEmpty {
            let id = try nodeID(node)
            for part in parts where part.endMilliseconds > part.startMilliseconds && part.joules.isFinite {
                statement.reset()
                statement.bind(1, id)
                statement.bind(2, part.startMilliseconds)
                statement.bind(3, part.endMilliseconds)
                statement.bind(4, max(0, part.joules))
                statement.bind(5, part.source.rawValue)
                try statement.step()
            }
        }
    }

    /// The energy recorded for the gaps of node `id` inside `[from, to)`: parts the window cuts
    /// count in proportion. A row out of range is skipped and reported.
    static func backfillEnergy(_ database: SQLiteDatabase, _ id: Int64, from: Int64, to: Int64) throws(StoreError)
        -> BackfilledEnergy
    {
        guard to > from else { return BackfilledEnergy() }
        return backfillEnergy(try backfillRows(database, id, from: from, to: to)[...], from: from, to: to)
    }

    /// The parts of node `id` that may overlap `[from, to)`, oldest first. A row out of range
    /// is skipped and reported.
    static func backfillRows(_ database: SQLiteDatabase, _ id: Int64, from: Int64, to: Int64) throws(StoreError)
        -> [BackfillPart]
    {
        let statement = try database.prepare(
            "SELECT \(BackfillRow.columns) FROM backfill WHERE node_id = ?1 AND start_ms < ?3 AND start_ms >= ?2 "
                + "ORDER BY start_ms")
        statement.bind(1, id)
        // A part lies within one minute, so its start is at most a minute before the window's.
        statement.bind(2, from.subtractingClamped(60_000))
        statement.bind(3, to)
        var parts: [BackfillPart] = []
        while try statement.step() {
            do throws(StoredRowDefect) { parts.append(try BackfillRow(statement).part) } catch {
                database.skipped(.backfill, nodeID: id, start: statement.int(0), error)
            }
        }
        return parts
    }

    /// The energy of `parts` inside `[from, to)`: parts the window cuts count in proportion.
    static func backfillEnergy(_ parts: ArraySlice<BackfillPart>, from: Int64, to: Int64) -> BackfilledEnergy {
        var result = BackfilledEnergy()
        guard to > from else { return result }
        for part in parts {
            let start = max(part.startMilliseconds, from)
            let end = min(part.endMilliseconds, to)
            guard end > start else { continue }
            let share = Double(end - start) / Double(part.milliseconds)
            result.add(joules: part.joules * share, milliseconds: end - start, source: part.source)
        }
        return result
    }

    /// The parts recorded for node `node` inside `[from, to)`, oldest first (whole parts).
    public func backfillParts(node: String, fromMilliseconds from: Int64, toMilliseconds to: Int64)
        async throws(StoreError) -> [BackfillPart]
    {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [BackfillPart] in
            guard to > from, let id = try self.readerNodeID(node, in: reader) else { return [] }
            let statement = try reader.prepare(
                "SELECT \(BackfillRow.columns) FROM backfill WHERE node_id = ?1 AND start_ms >= ?2 AND start_ms < ?3 "
                    + "ORDER BY start_ms")
            statement.bind(1, id)
            statement.bind(2, from)
            statement.bind(3, to)
            var parts: [BackfillPart] = []
            while try statement.step() {
                do throws(StoredRowDefect) { parts.append(try BackfillRow(statement).part) } catch {
                    reader.skipped(.backfill, nodeID: id, start: statement.int(0), error)
                }
            }
            return parts
        }
    }
}

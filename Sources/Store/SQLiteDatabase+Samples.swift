/// The store's reads of one connection: the writer's (retention folds from it) and the
/// reader's (queries) run the same code on their own connections, each on its own queue.
extension SQLiteDatabase {
    /// The integer stored under `key` in `meta`, if any.
    func meta(_ key: String) throws(StoreError) -> Int64? {
        let statement = try prepare("SELECT value FROM meta WHERE key = ?")
        statement.bind(1, key)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int(0)
    }

    /// The integer stored under `key` in `meta` when it lies in `range`; a value of another
    /// type or out of range reads as absent (and is reported, once).
    func meta(_ key: String, in range: ClosedRange<Int64>) throws(StoreError) -> Int64? {
        let statement = try prepare("SELECT value FROM meta WHERE key = ?")
        statement.bind(1, key)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        guard let value = statement.storedInt(0), range.contains(value) else {
            faults?.badRow(
                .meta, key: key, node: nil, startMilliseconds: nil,
                reason: "\(key) is \(statement.text(0)), not an integer in \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// The fold watermark: raw samples before it are represented by minute rows. A mark that
    /// cannot be read while minute rows exist is taken as the end of the newest minute row in
    /// range, so that those rows are still answered from and never folded over again.
    func foldedUntil() throws(StoreError) -> Int64? {
        if let mark = try meta("folded_until_ms", in: StoredSample.times) { return mark }
        let newest = try prepare("SELECT max(minute) FROM minute WHERE minute BETWEEN ?1 AND ?2")
        newest.bind(1, MinuteRow.minutes.lowerBound)
        newest.bind(2, MinuteRow.minutes.upperBound - 1)
        guard try newest.step(), let minute = newest.storedInt(0) else { return nil }
        return (minute + 1) * 60_000
    }

    /// Reports a row that cannot be decoded (`StoreFaults`), with its node's name when known.
    func skipped(_ table: StoreFaults.Table, nodeID: Int64?, start: Int64?, _ defect: StoredRowDefect) {
        guard let faults else { return }
        let name = nodeID.flatMap { try? nodeName($0) }
        let key = "\(nodeID.map(String.init) ?? "-"):\(start.map(String.init) ?? "-")"
        faults.badRow(table, key: key, node: name, startMilliseconds: start, reason: "\(defect)")
    }

    /// The name of node `id`, if the database has it.
    func nodeName(_ id: Int64) throws(StoreError) -> String? {
        let statement = try prepare("SELECT name FROM node WHERE id = ?")
        statement.bind(1, id)
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// Stores `value` under `key` in `meta`.
    func setMeta(_ key: String, _ value: Int64) throws(StoreError) {
        let statement = try prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
        statement.bind(1, key)
        statement.bind(2, value)
        try statement.step()
    }

    /// The id of node `name`, if the database has it.
    func lookupNodeID(_ name: String) throws(StoreError) -> Int64? {
        let statement = try prepare("SELECT id FROM node WHERE name = ?")
        statement.bind(1, name)
        guard try statement.step() else { return nil }
        return statement.int(0)
    }

    /// Every node id.
    func allNodeIDs() throws(StoreError) -> [Int64] {
        let statement = try prepare("SELECT id FROM node ORDER BY id")
        var ids: [Int64] = []
        while try statement.step() { ids.append(statement.int(0)) }
        return ids
    }

    /// The samples in `recent` (of node `only`, when given), with their node id, in stored order.
    func recentSamples(only node: Int64? = nil) throws(StoreError) -> [StoredSample] {
        let rows = try prepare("SELECT \(EnergyStore.recentColumns) FROM recent ORDER BY id")
        var samples: [StoredSample] = []
        while try rows.step() {
            do throws(StoredRowDefect) {
                samples += try EnergyStore.recentRow(rows).decoded(only: node)
            } catch {
                skipped(.recent, nodeID: nil, start: rows.int(0), error)
            }
        }
        return samples
    }

    /// The samples of node `id` with `from <= time <= to`, oldest first: packed chunks, then
    /// the recent rows. Call inside a transaction, so that a concurrent pack cannot move
    /// samples between the two reads.
    func storedSamples(_ id: Int64, from: Int64, to: Int64) throws(StoreError) -> [StoredSample] {
        guard to >= from else { return [] }
        var result: [StoredSample] = []
        try EnergyStore.forEachPackedSample(id, from: from, to: to, using: try prepare(EnergyStore.chunksOfNode)) { result.append($0) }
        for sample in try recentSamples(only: id) where sample.timestampMilliseconds >= from && sample.timestampMilliseconds <= to {
            result.append(sample)
        }
        result.normalizeOrder()
        return result
    }

    /// Raw (time, watts) points of a node with `from <= ts <= to`, oldest first.
    func points(_ id: Int64, from: Int64, to: Int64) throws(StoreError) -> [(timestampMilliseconds: Int64, watts: Double)] {
        try storedSamples(id, from: from, to: to).map { ($0.timestampMilliseconds, $0.watts) }
    }
}

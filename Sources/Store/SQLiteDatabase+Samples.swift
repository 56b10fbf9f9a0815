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
            EnergyStore.recentRow(rows).forEachSample(only: node) { samples.append($0) }
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

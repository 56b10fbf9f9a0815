extension Schema {
    /// Version 2: the recent `sample` rows, packed `chunk` rows, and views over both.
    static let version2Tables = """
        CREATE TABLE sample (
            ts_ms INTEGER NOT NULL,
            node_id INTEGER NOT NULL REFERENCES node(id),
            milliwatts INTEGER NOT NULL,
            centivolts INTEGER,
            milliamps INTEGER,
            device_mwh INTEGER,
            PRIMARY KEY (ts_ms, node_id)
        ) WITHOUT ROWID;
        CREATE TABLE chunk (
            node_id INTEGER NOT NULL REFERENCES node(id),
            start_ms INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            step_ms INTEGER NOT NULL,
            \(SampleChunk.fieldNames.map { "\($0)_base INTEGER, \($0)_scale INTEGER NOT NULL, \($0)_width INTEGER NOT NULL" }.joined(separator: ",\n    "))
            ,
            data BLOB NOT NULL,
            PRIMARY KEY (node_id, start_ms)
        ) WITHOUT ROWID;
        CREATE TABLE chunk_slot (i INTEGER PRIMARY KEY);
        WITH RECURSIVE slot(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM slot WHERE i + 1 < \(SampleChunk.maxSamples))
        INSERT INTO chunk_slot SELECT i FROM slot;
        """

    /// `readings`: every sample in fixed-point units (node id, unix ms, mW, cV, mA, device mWh);
    /// `power`: the same in SI units by node name. Packed rows are decoded slot by slot.
    static let version2Views = """
        CREATE VIEW readings AS
            SELECT c.node_id AS node_id, \(chunkColumn(0)) AS ts_ms, \(chunkColumn(1)) AS milliwatts,
                   \(chunkColumn(2)) AS centivolts, \(chunkColumn(3)) AS milliamps, \(chunkColumn(4)) AS device_mwh
            FROM chunk AS c JOIN chunk_slot AS k ON k.i < c.samples
            UNION ALL
            SELECT node_id, ts_ms, milliwatts, centivolts, milliamps, device_mwh FROM sample;
        CREATE VIEW power AS
            SELECT node.name AS node,
                   (\(chunkColumn(0))) / 1000.0 AS ts,
                   (\(chunkColumn(1))) / 1000.0 AS watts,
                   (\(chunkColumn(2))) / 100.0 AS volts,
                   (\(chunkColumn(3))) / 1000.0 AS amps
            FROM chunk AS c JOIN chunk_slot AS k ON k.i < c.samples JOIN node ON node.id = c.node_id
            UNION ALL
            SELECT node.name, sample.ts_ms / 1000.0, sample.milliwatts / 1000.0, sample.centivolts / 100.0,
                   sample.milliamps / 1000.0
            FROM sample JOIN node ON node.id = sample.node_id;
        """

    /// The SQL that decodes field `index` of slot `k.i` of chunk `c`.
    static func chunkColumn(_ index: Int) -> String {
        let names = SampleChunk.fieldNames
        let name = names[index]
        let stride = names.map { "c.\($0)_width" }.joined(separator: " + ")
        let before = names.prefix(index).map { "c.\($0)_width" }
        let position = "k.i * (\(stride)) + \((before + ["1"]).joined(separator: " + "))"
        let code =
            "coalesce(unicode(substr(c.data, \(position), c.\(name)_width)) - "
            + "(CASE c.\(name)_width WHEN 1 THEN 1 WHEN 3 THEN 2048 ELSE 65536 END), 0)"
        let value = "c.\(name)_base + \(code) * c.\(name)_scale"
        return index == 0 ? "c.start_ms + k.i * c.step_ms + \(value)" : value
    }

    /// 1 -> 2: packs every version-1 sample into chunks of whole minutes.
    static func migrateToChunks(_ database: SQLiteDatabase) throws(StoreError) {
        try database.execute("DROP VIEW power; ALTER TABLE sample RENAME TO sample_v1")
        try database.execute(version2Tables)
        try database.execute(version2Views)
        let step = try database.scalarInt("SELECT coalesce((SELECT value FROM meta WHERE key = 'interval_ms'), 1000)")
        let rows = try database.prepare(
            "SELECT node_id, ts_ms, milliwatts, centivolts, milliamps, device_mwh FROM sample_v1 ORDER BY node_id, ts_ms"
        )
        let writer = ChunkWriter(database: database)
        var node: Int64?
        var minute: [StoredSample] = []
        func flush() throws(StoreError) {
            if let node, !minute.isEmpty { try writer.insert(node: node, samples: minute[...], step: step) }
            minute.removeAll(keepingCapacity: true)
        }
        var newest: Int64 = .min
        while try rows.step() {
            let id = rows.int(0)
            let sample = StoredSample(
                timestampMilliseconds: rows.int(1), milliwatts: rows.int(2), centivolts: rows.optionalInt(3),
                milliamps: rows.optionalInt(4), deviceMilliwattHours: rows.optionalInt(5)
            )
            newest = max(newest, sample.timestampMilliseconds)
            if id != node || (minute.first.map { EnergyStore.floorDiv($0.timestampMilliseconds, 60_000) }
                != EnergyStore.floorDiv(sample.timestampMilliseconds, 60_000))
            {
                try flush()
                node = id
            }
            minute.append(sample)
        }
        try flush()
        rows.reset()
        try database.execute("DROP TABLE sample_v1")
        if newest > .min {
            let mark = try database.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('packed_until_ms', ?)")
            mark.bind(1, EnergyStore.floorDiv(newest, 60_000) * 60_000 + 60_000)
            try mark.step()
        }
    }
}

/// Inserts packed chunks, with one statement prepared once.
final class ChunkWriter {
    private let statement: Statement?
    private let failure: StoreError?

    init(database: SQLiteDatabase) {
        let columns = SampleChunk.fieldNames.flatMap { ["\($0)_base", "\($0)_scale", "\($0)_width"] }
        let sql = """
            INSERT OR IGNORE INTO chunk (node_id, start_ms, samples, step_ms, \(columns.joined(separator: ", ")), data)
            VALUES (\([String](repeating: "?", count: columns.count + 5).joined(separator: ", ")))
            """
        do {
            statement = try database.prepare(sql)
            failure = nil
        } catch {
            statement = nil
            failure = error
        }
    }

    /// Packs and inserts `samples` of `node` (sorted by time). A chunk whose first time
    /// is already the start of a stored chunk repeats a stored sample: that sample is left
    /// out and the rest packed again.
    func insert(node: Int64, samples: ArraySlice<StoredSample>, step: Int64) throws(StoreError) {
        guard let statement else { throw failure ?? StoreError(code: 0, message: "chunk insert not prepared") }
        var pending = samples
        while !pending.isEmpty {
            guard let chunk = SampleChunk.first(of: pending, stepMilliseconds: step) else { return }
            statement.reset()
            statement.bind(1, node)
            statement.bind(2, chunk.startMilliseconds)
            statement.bind(3, Int64(chunk.count))
            statement.bind(4, chunk.stepMilliseconds)
            var index: Int32 = 5
            for field in chunk.fields {
                statement.bind(index, field.base)
                statement.bind(index + 1, field.scale)
                statement.bind(index + 2, Int64(field.width))
                index += 3
            }
            statement.bind(index, chunk.data)
            try statement.step()
            let inserted = statement.database.changes > 0
            pending = pending.dropFirst(inserted ? chunk.count : 1)
        }
    }
}

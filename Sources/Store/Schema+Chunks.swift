extension Schema {
    /// The `base`, `scale` and `width` columns of a layout's fields.
    static func fieldColumns(_ layout: SampleChunk.Layout) -> [String] {
        layout.fieldNames.flatMap { ["\($0)_base", "\($0)_scale", "\($0)_width"] }
    }

    private static func fieldDefinitions(_ layout: SampleChunk.Layout) -> String {
        layout.fieldNames.map { "\($0)_base INTEGER, \($0)_scale INTEGER NOT NULL, \($0)_width INTEGER NOT NULL," }
            .joined(separator: "\n")
    }

    /// Version 2: `recent` (one row per tick and group of nodes, until the minute is
    /// complete), `chunk` (one row per node and minute), and the slot numbers the views join.
    static let version2Tables = """
        CREATE TABLE recent (
            id INTEGER PRIMARY KEY,
            start_ms INTEGER NOT NULL,
            samples INTEGER NOT NULL,
        \(fieldDefinitions(.tick))
            data BLOB NOT NULL
        );
        CREATE TABLE chunk (
            node_id INTEGER NOT NULL REFERENCES node(id),
            start_ms INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            step_ms INTEGER NOT NULL,
        \(fieldDefinitions(.nodeMinute))
            data BLOB NOT NULL,
            PRIMARY KEY (node_id, start_ms)
        ) WITHOUT ROWID;
        CREATE TABLE chunk_slot (i INTEGER PRIMARY KEY);
        WITH RECURSIVE slot(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM slot WHERE i + 1 < \(SampleChunk.slots))
        INSERT INTO chunk_slot SELECT i FROM slot;
        """

    /// `readings`: every sample in fixed-point units (node id, unix ms, mW, cV, mA, device mWh);
    /// `power`: the same in SI units by node name. Packed rows are decoded slot by slot.
    static var version2Views: String {
        let chunk = { (name: String) in decode(name, alias: "c", layout: .nodeMinute) }
        let recent = { (name: String) in decode(name, alias: "r", layout: .tick) }
        let chunkRows = "chunk AS c JOIN chunk_slot AS k ON k.i < c.samples"
        let recentRows = "recent AS r JOIN chunk_slot AS k ON k.i < r.samples"
        return """
            CREATE VIEW readings AS
                SELECT c.node_id AS node_id, \(chunk("t")) AS ts_ms, \(chunk("mw")) AS milliwatts,
                       \(chunk("cv")) AS centivolts, \(chunk("ma")) AS milliamps, \(chunk("mwh")) AS device_mwh
                FROM \(chunkRows)
                UNION ALL
                SELECT \(recent("node")), \(recent("t")), \(recent("mw")), \(recent("cv")), \(recent("ma")), \(recent("mwh"))
                FROM \(recentRows);
            CREATE VIEW power AS
                SELECT node.name AS node, (\(chunk("t"))) / 1000.0 AS ts, (\(chunk("mw"))) / 1000.0 AS watts,
                       (\(chunk("cv"))) / 100.0 AS volts, (\(chunk("ma"))) / 1000.0 AS amps
                FROM \(chunkRows) JOIN node ON node.id = c.node_id
                UNION ALL
                SELECT node.name, (\(recent("t"))) / 1000.0, (\(recent("mw"))) / 1000.0, (\(recent("cv"))) / 100.0,
                       (\(recent("ma"))) / 1000.0
                FROM \(recentRows) JOIN node ON node.id = \(recent("node"));
            """
    }

    /// The SQL that decodes field `name` of slot `k.i` of the row `alias`.
    static func decode(_ name: String, alias: String, layout: SampleChunk.Layout) -> String {
        let names = layout.fieldNames
        let index = names.firstIndex(of: name) ?? 0
        let stride = names.map { "\(alias).\($0)_width" }.joined(separator: " + ")
        let before = names.prefix(index).map { "\(alias).\($0)_width" }
        let position = "k.i * (\(stride)) + \((before + ["1"]).joined(separator: " + "))"
        let code =
            "coalesce(unicode(substr(\(alias).data, \(position), \(alias).\(name)_width)) - "
            + "(CASE \(alias).\(name)_width WHEN 1 THEN 1 WHEN 3 THEN 2048 ELSE 65536 END), 0)"
        let value = "\(alias).\(name)_base + \(code) * \(alias).\(name)_scale"
        guard name == "t" else { return value }
        return layout.perSampleNode ? "\(alias).start_ms + \(value)" : "\(alias).start_ms + k.i * \(alias).step_ms + \(value)"
    }

    /// Version 3: the per-minute sums of the packed chunks (see `ChunkWriter`).
    static let version3Tables = """
        CREATE TABLE chunk_minute (
            node_id INTEGER NOT NULL REFERENCES node(id),
            minute INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            sum_mw INTEGER NOT NULL,
            last_ms INTEGER NOT NULL,
            PRIMARY KEY (node_id, minute)
        ) WITHOUT ROWID;
        """

    /// 2 -> 3: sums every stored chunk into `chunk_minute`.
    static func addChunkMinutes(_ database: SQLiteDatabase) throws(StoreError) {
        try database.execute(version3Tables)
        let rows = try database.prepare("SELECT \(EnergyStore.chunkColumns), node_id FROM chunk")
        let sums = ChunkMinuteSums(database: database)
        let nodeColumn = Int32(3 + 3 * SampleChunk.valueFieldNames.count + 1)
        while try rows.step() {
            // A chunk that cannot be decoded adds nothing; queries skip it too.
            guard let samples = try? EnergyStore.chunk(rows).samples() else { continue }
            try sums.add(node: rows.int(nodeColumn), samples: samples[...])
        }
        rows.reset()
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
        var minute: [StoredSample] = []
        var newest: Int64 = .min
        while try rows.step() {
            let sample = StoredSample(
                timestampMilliseconds: rows.int(1), milliwatts: rows.int(2), centivolts: rows.optionalInt(3),
                milliamps: rows.optionalInt(4), deviceMilliwattHours: rows.optionalInt(5), node: rows.int(0)
            )
            // A sample no build could have written would overflow the packing arithmetic: left behind.
            guard StoredSample.times.contains(sample.timestampMilliseconds),
                StoredSample.milliwattRange.contains(sample.milliwatts)
            else { continue }
            newest = max(newest, sample.timestampMilliseconds)
            if let first = minute.first,
                first.node != sample.node
                    || EnergyStore.floorDiv(first.timestampMilliseconds, 60_000) != EnergyStore.floorDiv(sample.timestampMilliseconds, 60_000)
            {
                try writer.insert(node: first.node, samples: minute[...], step: step)
                minute.removeAll(keepingCapacity: true)
            }
            minute.append(sample)
        }
        if let first = minute.first { try writer.insert(node: first.node, samples: minute[...], step: step) }
        rows.reset()
        try database.execute("DROP TABLE sample_v1")
        if newest > .min {
            let mark = try database.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('packed_until_ms', ?)")
            mark.bind(1, EnergyStore.floorDiv(newest, 60_000) * 60_000 + 60_000)
            try mark.step()
        }
    }
}

/// Inserts packed rows into `chunk` or `recent`, with one statement prepared once. With
/// `summarize`, every chunk inserted also adds to its minute's row of `chunk_minute` (the
/// version-1 migration packs before that table exists and leaves the sums to the next one).
final class ChunkWriter {
    private let database: SQLiteDatabase
    private let layout: SampleChunk.Layout
    private var statement: Statement?
    private let sums: ChunkMinuteSums?

    init(database: SQLiteDatabase, layout: SampleChunk.Layout = .nodeMinute, summarize: Bool = false) {
        self.database = database
        self.layout = layout
        self.sums = summarize && !layout.perSampleNode ? ChunkMinuteSums(database: database) : nil
    }

    private func prepared() throws(StoreError) -> Statement {
        if let statement { return statement }
        let columns = Schema.fieldColumns(layout)
        let sql =
            layout.perSampleNode
            ? """
            INSERT INTO recent (start_ms, samples, \(columns.joined(separator: ", ")), data)
            VALUES (\([String](repeating: "?", count: columns.count + 3).joined(separator: ", ")))
            """
            : """
            INSERT OR IGNORE INTO chunk (start_ms, samples, step_ms, \(columns.joined(separator: ", ")), data, node_id)
            VALUES (\([String](repeating: "?", count: columns.count + 5).joined(separator: ", ")))
            """
        let made = try database.prepare(sql)
        statement = made
        return made
    }

    /// Packs and inserts `samples` (sorted by time; for `chunk` all of `node` and one
    /// minute). A chunk whose first time is already the start of a stored chunk repeats a
    /// stored sample: that sample is left out and the rest packed again.
    func insert(node: Int64 = 0, samples: ArraySlice<StoredSample>, step: Int64) throws(StoreError) {
        let statement = try prepared()
        var pending = samples
        while let chunk = SampleChunk.first(of: pending, stepMilliseconds: step, layout: layout) {
            statement.reset()
            statement.bind(1, chunk.startMilliseconds)
            statement.bind(2, Int64(chunk.count))
            var index: Int32 = 3
            if !layout.perSampleNode {
                statement.bind(index, chunk.stepMilliseconds)
                index += 1
            }
            for field in chunk.fields {
                statement.bind(index, field.base)
                statement.bind(index + 1, field.scale)
                statement.bind(index + 2, Int64(field.width))
                index += 3
            }
            statement.bind(index, chunk.data)
            if !layout.perSampleNode { statement.bind(index + 1, node) }
            try statement.step()
            let inserted = layout.perSampleNode || database.changes > 0
            if inserted, let sums { try sums.add(node: node, samples: pending.prefix(chunk.count)) }
            pending = pending.dropFirst(inserted ? chunk.count : 1)
        }
    }
}

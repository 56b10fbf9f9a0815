extension Schema {
    /// 4 -> 5: the `backfill` table, `power_minute` with the backfilled minutes, and the node
    /// columns a gap across a restart needs.
    ///
    /// `power_minute` keeps its seven columns first and adds `backfilled` (0 for a measured
    /// minute, 1 for energy recorded for a gap), `source` (`samples`, or where the backfilled
    /// energy came from: `counter`, `minutes`, `history`) and `covered_s` (the seconds of the
    /// minute the row covers): `sum(joules)` over a window's rows is the window's complete
    /// energy. A backfilled row has no samples, its power is its joules over its seconds, and
    /// it has no minimum or maximum (NULL).
    static let addBackfill = """
        ALTER TABLE node ADD COLUMN last_device_reading_ms INTEGER;
        ALTER TABLE node ADD COLUMN minute_ms INTEGER;
        ALTER TABLE node ADD COLUMN minute_joules REAL;
        ALTER TABLE node ADD COLUMN minute_covered_ms INTEGER;
        CREATE TABLE backfill (
            node_id INTEGER NOT NULL REFERENCES node(id),
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            joules REAL NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (node_id, start_ms)
        ) WITHOUT ROWID;
        DROP VIEW power_minute;
        CREATE VIEW power_minute AS
            SELECT node.name AS node,
                   minute.minute * 60.0 AS ts,
                   minute.samples AS samples,
                   minute.avg_watts AS avg_watts,
                   minute.min_watts AS min_watts,
                   minute.max_watts AS max_watts,
                   minute.joules AS joules,
                   0 AS backfilled,
                   'samples' AS source,
                   minute.covered_ms / 1000.0 AS covered_s
            FROM minute JOIN node ON node.id = minute.node_id
            UNION ALL
            SELECT node.name,
                   (b.start_ms - (b.start_ms % 60000 + 60000) % 60000) / 1000.0,
                   0,
                   b.joules * 1000.0 / max(b.end_ms - b.start_ms, 1),
                   NULL,
                   NULL,
                   b.joules,
                   1,
                   b.source,
                   (b.end_ms - b.start_ms) / 1000.0
            FROM backfill AS b JOIN node ON node.id = b.node_id;
        """
}

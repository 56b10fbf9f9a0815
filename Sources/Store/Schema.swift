/// The database schema and its forward migrations. `PRAGMA user_version` holds the version.
///
/// Users query the views `power` and `power_minute` with the plain `sqlite3` shell; the
/// tables behind them store fixed-point integers (milliwatts, centivolts, milliamperes,
/// milliwatt-hours, unix milliseconds).
///
/// Version 2 keeps the samples of the current minute in `recent` (one packed row per tick
/// and group of nodes reporting the same fields) and packs each completed minute of a node
/// into one row of `chunk` (see `SampleChunk`). The views decode both with built-in SQL
/// functions only.
///
/// Version 3 adds `chunk_minute`: per node and packed minute the sample count, the sum of
/// milliwatts and the newest time, so that long power series are answered from a row per
/// minute instead of decoding every sample.
///
/// Version 4 adds `plug_pin`: per plug with a password the API family and the identity its
/// credentials go to (see `PlugPin`), so that a restart does not forget them.
///
/// Version 5 adds `backfill` (the energy of gaps, recorded from the devices' own figures, one
/// row per node and part of a minute), shows it in `power_minute` beside the measured minutes
/// (new columns `backfilled`, `source`, `covered_s`), and keeps in `node` what a gap after a
/// restart needs: when the last counter reading was taken and what the samples measured in
/// the minute of the last sample (see `Schema+Backfill.swift`).
///
/// Version 6 adds `pod_minute` and the view `pod_energy`: each node's measured energy split
/// among its pods, the node's own CPU use (`system`) and its unclaimed static power (`idle`),
/// per minute (see `Schema+PodEnergy.swift`).
///
/// Version 7 adds each node's emissions and cost counters and `grid_intensity`, the cache of
/// the grid's carbon intensity per zone (see `Schema+Footprint.swift`).
enum Schema {
    /// The version this build writes.
    static let currentVersion: Int64 = 7

    /// One forward migration.
    enum Migration: Sendable {
        /// Plain SQL.
        case sql(String)
        /// SQL plus work that needs code (repacking rows).
        case code(@Sendable (SQLiteDatabase) throws(StoreError) -> Void)
    }

    /// Migration `i` brings the database from version `i` to `i + 1`.
    static let migrations: [Migration] = [
        .sql(version1), .code(migrateToChunks), .code(addChunkMinutes), .sql(addPlugPins), .sql(addBackfill),
        .sql(addPodEnergy), .sql(addFootprint),
    ]

    /// The first schema: one row per sample, clustered by node.
    static let version1 = """
        CREATE TABLE node (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            energy_joules REAL NOT NULL DEFAULT 0,
            device_joules REAL NOT NULL DEFAULT 0,
            last_ts_ms INTEGER,
            last_watts REAL,
            last_device_wh REAL
        );
        CREATE TABLE sample (
            node_id INTEGER NOT NULL REFERENCES node(id),
            ts_ms INTEGER NOT NULL,
            milliwatts INTEGER NOT NULL,
            centivolts INTEGER,
            milliamps INTEGER,
            device_mwh INTEGER,
            PRIMARY KEY (node_id, ts_ms)
        ) WITHOUT ROWID;
        CREATE TABLE minute (
            node_id INTEGER NOT NULL REFERENCES node(id),
            minute INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            avg_watts REAL NOT NULL,
            min_watts REAL NOT NULL,
            max_watts REAL NOT NULL,
            joules REAL NOT NULL,
            covered_ms INTEGER NOT NULL,
            PRIMARY KEY (node_id, minute)
        ) WITHOUT ROWID;
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value
        ) WITHOUT ROWID;
        CREATE VIEW power AS
            SELECT node.name AS node,
                   sample.ts_ms / 1000.0 AS ts,
                   sample.milliwatts / 1000.0 AS watts,
                   sample.centivolts / 100.0 AS volts,
                   sample.milliamps / 1000.0 AS amps
            FROM sample JOIN node ON node.id = sample.node_id;
        CREATE VIEW power_minute AS
            SELECT node.name AS node,
                   minute.minute * 60.0 AS ts,
                   minute.samples AS samples,
                   minute.avg_watts AS avg_watts,
                   minute.min_watts AS min_watts,
                   minute.max_watts AS max_watts,
                   minute.joules AS joules
            FROM minute JOIN node ON node.id = minute.node_id;
        """
}

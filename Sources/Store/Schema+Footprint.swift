extension Schema {
    /// Version 7: the emissions and cost counters of each node beside its energy counter (so
    /// that they continue across restarts as it does), and `grid_intensity`, the carbon
    /// intensities learned from the Electricity Maps API per zone, each in force from `ts`
    /// until the next: the history survives restarts and outages of the API.
    static let addFootprint = """
        ALTER TABLE node ADD COLUMN emissions_grams REAL NOT NULL DEFAULT 0;
        ALTER TABLE node ADD COLUMN cost REAL NOT NULL DEFAULT 0;
        ALTER TABLE node ADD COLUMN cost_currency TEXT;
        CREATE TABLE grid_intensity (
            zone TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            grams_per_kwh REAL NOT NULL,
            fetched_ms INTEGER NOT NULL,
            PRIMARY KEY (zone, ts_ms)
        ) WITHOUT ROWID;
        """
}

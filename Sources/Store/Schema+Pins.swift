extension Schema {
    /// Version 4: the pins of the plugs with a password (see `PlugPin`). One row per plug,
    /// `meter` empty for a node with one plug. `auth` follows from `family`; it is stored
    /// beside it so that `sqlite3` users read how the password travels without knowing that.
    static let addPlugPins = """
        CREATE TABLE plug_pin (
            node TEXT NOT NULL,
            meter TEXT NOT NULL DEFAULT '',
            family TEXT NOT NULL CHECK (family IN ('gen1', 'gen2+')),
            auth TEXT NOT NULL CHECK (auth IN ('basic', 'digest')),
            device_id TEXT,
            mac TEXT,
            first_seen_ms INTEGER NOT NULL,
            PRIMARY KEY (node, meter)
        ) WITHOUT ROWID;
        """
}

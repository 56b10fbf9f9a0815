import Testing

@testable import Store

extension SQLiteDatabase {
    /// Takes a database of the current schema back to an older version, as a build of that
    /// version left it, so that the migrations from there are exercised on real data.
    func downgrade(to version: Int64) throws {
        var current = Schema.currentVersion
        while current > version {
            switch current {
            case 7:
                try execute(
                    """
                    DROP TABLE grid_intensity; ALTER TABLE node DROP COLUMN emissions_grams;
                    ALTER TABLE node DROP COLUMN cost; ALTER TABLE node DROP COLUMN cost_currency;
                    """)
            case 6: try execute("DROP VIEW pod_energy; DROP TABLE pod_minute")
            case 5:
                // Without the backfill table, the node columns a gap after a restart needs and
                // the backfilled rows of `power_minute`.
                try execute(
                    """
                    DROP VIEW power_minute; DROP TABLE backfill;
                    ALTER TABLE node DROP COLUMN last_device_reading_ms; ALTER TABLE node DROP COLUMN minute_ms;
                    ALTER TABLE node DROP COLUMN minute_joules; ALTER TABLE node DROP COLUMN minute_covered_ms;
                    CREATE VIEW power_minute AS SELECT node.name AS node, minute.minute * 60.0 AS ts,
                        minute.samples AS samples, minute.avg_watts AS avg_watts, minute.min_watts AS min_watts,
                        minute.max_watts AS max_watts, minute.joules AS joules
                        FROM minute JOIN node ON node.id = minute.node_id;
                    """)
            case 4: try execute("DROP TABLE plug_pin")
            case 3: try execute("DROP TABLE chunk_minute")
            default: Issue.record("no downgrade below version \(current) here")
            }
            current -= 1
        }
        try execute("PRAGMA user_version = \(version)")
    }
}

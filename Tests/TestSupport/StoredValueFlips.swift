/// SQL that sets fields of a store's rows to extremes behind the service's back, as a disk
/// editor, a broken build or an attacker with write access could: every column of `chunk`,
/// `recent`, `chunk_minute`, `minute`, `node` and `meta`, each (column, value) pair on a row of
/// its own, so that one database holds every case at once. `PRAGMA integrity_check` still
/// says ok afterwards: the rows are well-formed SQLite, only their values are wrong.
public enum StoredValueFlips {
    /// Extremes for INTEGER columns: the 64-bit edges, 2^62 (the `mw_scale` that once trapped),
    /// negatives, an infinite and a NaN-looking text, a blob.
    public static let integers = [
        "9223372036854775807", "-9223372036854775808", "4611686018427387904", "-1", "0", "1e999", "-1e999", "'NaN'",
        "X'00'",
    ]
    /// Extremes for REAL columns (SQLite stores NaN as NULL; the text stands for it).
    public static let reals = ["1e999", "-1e999", "'NaN'", "NULL", "-1e308", "1e300", "9223372036854775807", "X'00'"]
    /// Extremes for the packed data: empty, too short, far too long, text, a number, NULL.
    public static let blobs = ["X''", "X'00'", "zeroblob(100000)", "'text'", "1e999", "NULL"]

    /// The packed field prefixes of a `chunk` row.
    static let fields = ["t", "mw", "cv", "ma", "mwh"]

    /// Every (column, value) pair of `chunk`.
    public static var chunkCases: [(column: String, value: String)] {
        let columns =
            ["start_ms", "samples", "step_ms"] + fields.flatMap { ["\($0)_base", "\($0)_scale", "\($0)_width"] }
        return columns.flatMap { column in integers.map { (column, $0) } } + blobs.map { ("data", $0) }
    }

    /// Every (column, value) pair of `recent` (the per-sample node field too).
    public static var recentCases: [(column: String, value: String)] {
        let columns =
            ["start_ms", "samples"] + (["node"] + fields).flatMap { ["\($0)_base", "\($0)_scale", "\($0)_width"] }
        return columns.flatMap { column in integers.map { (column, $0) } } + blobs.map { ("data", $0) }
    }

    /// Every (column, value) pair of `chunk_minute`.
    public static var chunkMinuteCases: [(column: String, value: String)] {
        ["minute", "samples", "sum_mw", "last_ms"].flatMap { column in integers.map { (column, $0) } }
    }

    /// Every (column, value) pair of `minute`.
    public static var minuteCases: [(column: String, value: String)] {
        ["minute", "samples", "covered_ms"].flatMap { column in integers.map { (column, $0) } }
            + ["avg_watts", "min_watts", "max_watts", "joules"].flatMap { column in reals.map { (column, $0) } }
    }

    /// Every (column, value) pair of `node` (the running counters).
    public static var nodeCases: [(column: String, value: String)] {
        ["energy_joules", "device_joules", "last_watts", "last_device_wh"].flatMap { column in
            reals.map { (column, $0) }
        }
            + integers.map { ("last_ts_ms", $0) }
    }

    /// Every (key, value) pair of `meta`.
    public static var metaCases: [(key: String, value: String)] {
        ["interval_ms", "packed_until_ms", "folded_until_ms"].flatMap { key in integers.map { (key, $0) } }
    }

    /// `UPDATE`s that give the `index`-th chunk (round robin over `keys`, node -> the
    /// `start_ms` of its chunks) the `index`-th case of `chunkCases`; as many cases as there
    /// are chunks. The keys are literal, so that an update of a key column moves no other case.
    public static func chunkUpdates(keys: [(node: String, starts: [Int64])]) -> [String] {
        updates("chunk", key: "start_ms", chunkCases, keys: keys)
    }

    /// `UPDATE`s of `chunk_minute` rows, the same way (`keys`: node -> minutes).
    public static func chunkMinuteUpdates(keys: [(node: String, starts: [Int64])]) -> [String] {
        updates("chunk_minute", key: "minute", chunkMinuteCases, keys: keys)
    }

    /// `UPDATE`s of `minute` rows, the same way (`keys`: node -> minutes).
    public static func minuteUpdates(keys: [(node: String, starts: [Int64])]) -> [String] {
        updates("minute", key: "minute", minuteCases, keys: keys)
    }

    /// `UPDATE`s of `recent` rows: the row with the `index`-th id of `ids` gets the `index`-th case.
    public static func recentUpdates(ids: [Int64]) -> [String] {
        zip(recentCases, ids).map { flip, id in "UPDATE recent SET \(flip.column) = \(flip.value) WHERE id = \(id);" }
    }

    private static func updates(
        _ table: String, key: String, _ cases: [(column: String, value: String)],
        keys: [(node: String, starts: [Int64])]
    ) -> [String] {
        guard !keys.isEmpty else { return [] }
        return cases.enumerated().compactMap { index, flip in
            let (node, starts) = keys[index % keys.count]
            let offset = index / keys.count
            guard offset < starts.count else { return nil }
            return
                "UPDATE \(table) SET \(flip.column) = \(flip.value) "
                + "WHERE node_id = (SELECT id FROM node WHERE name = '\(node)') "
                + "AND \(key) = \(starts[offset]);"
        }
    }
}

import CSQLite
import Dispatch
import EnergyModel
import Logging

/// The SQLite store: schema, one transaction per tick, the running energy counters, and
/// queries. Safe to read with the `sqlite3` shell while the service writes (WAL mode).
///
/// `@unchecked Sendable`: the connection and the caches are touched only on `queue`, a
/// serial queue of the store's own, which also keeps blocking SQLite calls off the
/// cooperative thread pool.
public final class EnergyStore: @unchecked Sendable {
    /// The database file.
    public let path: String
    let queue: DispatchQueue
    let database: SQLiteDatabase
    var nodeIDs: [String: Int64] = [:]
    private var insertSample: Statement?
    private var updateNode: Statement?
    /// The counters as last committed, by node id: a tick rewrites only the nodes whose
    /// counters moved, not every node of a large cluster. Store queue only.
    private var committedCounters: [Int64: EnergyCounters] = [:]

    /// Opens (creating if needed) and migrates the database at `path`; with `readOnly`, opens
    /// an existing database of this schema version for queries only.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        self.queue = DispatchQueue(label: "energy-monitor.store")
        if readOnly {
            self.database = try SQLiteDatabase(path: path, readOnly: true)
            let version: Int64
            do {
                version = try database.scalarInt("PRAGMA user_version")
            } catch {
                throw StoreError(code: error.code, message: "\(path) is not a readable SQLite database: \(error.message)")
            }
            guard version == Schema.currentVersion else {
                throw StoreError(
                    code: 0,
                    message: version == 0
                        ? "\(path) is not an energy-monitor database"
                        : "\(path) has schema version \(version); this build reads version \(Schema.currentVersion)"
                )
            }
        } else {
            self.database = try SQLiteDatabase(path: path)
            try Self.prepare(database)
        }
        try loadNodeIDs()
    }

    private static func prepare(_ database: SQLiteDatabase) throws(StoreError) {
        // auto_vacuum must be chosen before the first table exists; it lets retention give
        // pages back with `PRAGMA incremental_vacuum`.
        let version = try database.scalarInt("PRAGMA user_version")
        if version == 0 {
            try database.execute("PRAGMA auto_vacuum = INCREMENTAL")
        }
        let journal = try database.scalarText("PRAGMA journal_mode = WAL")
        guard journal == "wal" else {
            throw StoreError(code: 0, message: "cannot switch \(database.path) to WAL mode (got \(journal))")
        }
        // In WAL mode NORMAL never loses a committed transaction to a crash of the process.
        try database.execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
        // A tick of a large cluster dirties one leaf page per node (the samples are clustered
        // by node): a 16 MiB cache keeps such a tick from spilling into the log before its
        // commit, and checkpoints every 8,192 pages (32 MiB) instead of every 1,000 move each
        // page into the file once per many ticks. The cache grows only as pages are used, and
        // the log file is cut back to 64 MiB after a checkpoint.
        try database.execute(
            "PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 67108864"
        )
        if version > Schema.currentVersion {
            throw StoreError(
                code: 0,
                message: "\(database.path) has schema version \(version), newer than this build's \(Schema.currentVersion)"
            )
        }
        for target in Int(version)..<Int(Schema.currentVersion) {
            try database.transaction { () throws(StoreError) in
                try database.execute(Schema.migrations[target])
                try database.execute("PRAGMA user_version = \(target + 1)")
            }
        }
    }

    private func loadNodeIDs() throws(StoreError) {
        let statement = try database.prepare("SELECT id, name FROM node")
        while try statement.step() {
            nodeIDs[statement.text(1)] = statement.int(0)
        }
    }

    /// Closes the connection after pending work.
    public func close() {
        queue.sync { database.close() }
    }

    /// Runs `body` on the store's queue.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(StoreError) in try body() })
            }
        }
        return try result.get()
    }

    /// The running counters of every node, as last committed.
    public func loadCounters() async throws(StoreError) -> [String: EnergyCounters] {
        try await run { () throws(StoreError) in
            let statement = try self.database.prepare(
                "SELECT name, energy_joules, device_joules, last_ts_ms, last_watts, last_device_wh FROM node"
            )
            var counters: [String: EnergyCounters] = [:]
            while try statement.step() {
                counters[statement.text(0)] = EnergyCounters(
                    energyJoules: statement.double(1),
                    deviceJoules: statement.double(2),
                    lastTimestampMilliseconds: statement.optionalInt(3),
                    lastWatts: statement.optionalDouble(4),
                    lastDeviceWattHours: statement.optionalDouble(5)
                )
            }
            return counters
        }
    }

    /// Writes one tick's samples and the nodes' counters in one transaction.
    public func write(samples: [Sample], counters: [String: EnergyCounters]) async throws(StoreError) {
        try await run { () throws(StoreError) in
            try self.writeSynchronously(samples: samples, counters: counters)
        }
    }

    private func writeSynchronously(samples: [Sample], counters: [String: EnergyCounters]) throws(StoreError) {
        let written: [(Int64, EnergyCounters)]
        do {
            written = try insertTick(samples: samples, counters: counters)
        } catch {
            // The rollback also undid nodes inserted by this tick: forget their cached ids.
            nodeIDs.removeAll()
            try? loadNodeIDs()
            throw error
        }
        for (id, counter) in written { committedCounters[id] = counter }
    }

    /// Inserts the samples and the moved counters in one transaction; returns the counters written.
    private func insertTick(samples: [Sample], counters: [String: EnergyCounters]) throws(StoreError) -> [(Int64, EnergyCounters)] {
        try database.transaction { () throws(StoreError) -> [(Int64, EnergyCounters)] in
            if insertSample == nil {
                insertSample = try database.prepare(
                    """
                    INSERT OR IGNORE INTO sample (node_id, ts_ms, milliwatts, centivolts, milliamps, device_mwh)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
                )
                updateNode = try database.prepare(
                    """
                    UPDATE node SET energy_joules = ?, device_joules = ?, last_ts_ms = ?, last_watts = ?,
                        last_device_wh = ? WHERE id = ?
                    """
                )
            }
            guard let insertSample, let updateNode else { return [] }
            for sample in samples {
                let id = try nodeID(sample.node)
                let reading = sample.reading
                insertSample.reset()
                insertSample.bind(1, id)
                insertSample.bind(2, sample.timestampMilliseconds)
                insertSample.bind(3, Self.fixed(reading.watts, 1000))
                insertSample.bind(4, reading.volts.map { Self.fixed($0, 100) })
                insertSample.bind(5, reading.amps.map { Self.fixed($0, 1000) })
                insertSample.bind(6, reading.energyWattHours.map { Self.fixed($0, 1000) })
                try insertSample.step()
            }
            var written: [(Int64, EnergyCounters)] = []
            for (node, counter) in counters {
                let id = try nodeID(node)
                if committedCounters[id] == counter { continue }
                updateNode.reset()
                updateNode.bind(1, counter.energyJoules)
                updateNode.bind(2, counter.deviceJoules)
                updateNode.bind(3, counter.lastTimestampMilliseconds)
                updateNode.bind(4, counter.lastWatts)
                updateNode.bind(5, counter.lastDeviceWattHours)
                updateNode.bind(6, id)
                try updateNode.step()
                written.append((id, counter))
            }
            return written
        }
    }

    private static func fixed(_ value: Double, _ scale: Double) -> Int64 {
        Int64((value * scale).rounded())
    }

    func nodeID(_ name: String) throws(StoreError) -> Int64 {
        if let id = nodeIDs[name] { return id }
        let insert = try database.prepare("INSERT INTO node (name) VALUES (?)")
        insert.bind(1, name)
        try insert.step()
        let id = sqlite3_last_insert_rowid(database.handle)
        nodeIDs[name] = id
        return id
    }

    /// Raw samples of `node` with `from <= time < to` (unix milliseconds), oldest first.
    public func samples(node: String, fromMilliseconds: Int64, toMilliseconds: Int64) async throws(StoreError) -> [Sample] {
        try await run { () throws(StoreError) in
            guard let id = self.nodeIDs[node] else { return [] }
            let statement = try self.database.prepare(
                """
                SELECT ts_ms, milliwatts, centivolts, milliamps, device_mwh FROM sample
                WHERE node_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms
                """
            )
            statement.bind(1, id)
            statement.bind(2, fromMilliseconds)
            statement.bind(3, toMilliseconds)
            var samples: [Sample] = []
            while try statement.step() {
                samples.append(
                    Sample(
                        node: node,
                        timestampMilliseconds: statement.int(0),
                        reading: Reading(
                            watts: Double(statement.int(1)) / 1000,
                            volts: statement.optionalInt(2).map { Double($0) / 100 },
                            amps: statement.optionalInt(3).map { Double($0) / 1000 },
                            energyWattHours: statement.optionalInt(4).map { Double($0) / 1000 }
                        )
                    )
                )
            }
            return samples
        }
    }

    /// The number of raw samples of every node with `from <= time < to` (unix milliseconds).
    public func sampleCount(fromMilliseconds: Int64, toMilliseconds: Int64) async throws(StoreError) -> Int {
        try await run { () throws(StoreError) in
            let statement = try self.database.prepare("SELECT count(*) FROM sample WHERE ts_ms >= ? AND ts_ms < ?")
            statement.bind(1, fromMilliseconds)
            statement.bind(2, toMilliseconds)
            guard try statement.step() else { return 0 }
            return Int(statement.int(0))
        }
    }

    /// Moves the write-ahead log into the database file (for size measurements and backups).
    public func checkpoint() async throws(StoreError) {
        try await run { () throws(StoreError) in try self.database.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Checks that the connection still works (for `/readyz`).
    public func ping() async -> Bool {
        (try? await run { () throws(StoreError) in try self.database.scalarInt("SELECT 1") }) == 1
    }
}

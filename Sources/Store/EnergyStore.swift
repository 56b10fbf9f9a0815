import CSQLite
import Dispatch
import EnergyModel
import Logging

/// The SQLite store: schema, one transaction per tick, the running energy counters, and
/// queries. Safe to read with the `sqlite3` shell while the service writes (WAL mode).
///
/// Two connections: the writer (ticks, packing, retention) on `queue`, and a read-only one
/// for queries on `queryThread`. WAL lets a reader work on its snapshot while the writer
/// commits, so a 31-day dashboard query never stands between a tick and its commit; the one
/// query thread, at a lower CPU priority, also bounds what heavy reads take from the ticks
/// (see `QueryThread`).
///
/// `@unchecked Sendable`: the writer connection and its caches are touched only on `queue`
/// (a serial queue of the store's own), the reader connection and its cache only on
/// `queryThread`; both keep blocking SQLite calls off the cooperative thread pool.
public final class EnergyStore: @unchecked Sendable {
    /// The database file.
    public let path: String
    let queue: DispatchQueue
    let database: SQLiteDatabase
    let queryThread: QueryThread
    let reader: SQLiteDatabase
    var nodeIDs: [String: Int64] = [:]
    /// Node ids as the reader has seen them committed (ids of committed nodes never change).
    /// Query thread only.
    private var readerNodeIDs: [String: Int64] = [:]
    private var updateNode: Statement?
    /// Inserts one part of a gap's recorded energy (see `EnergyStore+Backfill.swift`).
    var insertBackfillPart: Statement?
    private var chunkWriter: ChunkWriter?
    private var recentWriter: ChunkWriter?
    /// Samples before this time are packed into chunks (unix milliseconds). Store queue only.
    var packedUntil: Int64 = .min
    /// The poll interval: the nominal spacing of packed samples.
    var stepMilliseconds: Int64 = 1000
    /// The counters as last committed, by node id: a tick rewrites only the nodes whose
    /// counters moved, not every node of a large cluster. Store queue only.
    var committedCounters: [Int64: EnergyCounters] = [:]
    /// Where a failure to pack completed minutes is reported (the tick itself is committed).
    let logger: Logger?
    /// The latest packing error, until packing works again. Store queue only.
    private var packError: String?
    /// Why the store is not ready, what it found wrong with the rows it read back, and how
    /// often its files vanished or were replaced (`/metrics`).
    public let faults: StoreFaults
    /// What a committed tick survives; kept for reopening.
    let durability: Durability
    /// The files as opened, checked before every tick (writer only). Store queue only.
    var fileWatch: StoreFileWatch?
    /// The state of a recovery from vanished or replaced files. Store queue only.
    var fileRecovery = FileRecovery()

    /// Opens (creating if needed) and migrates the database at `path`; with `readOnly`, opens
    /// an existing database of this schema version for queries only. `durability` chooses
    /// what a committed tick survives (see `Durability`; `bench` compares both).
    public init(
        path: String, readOnly: Bool = false, durability: Durability = .powerLoss, logger: Logger? = nil,
        faults: StoreFaults? = nil
    ) throws(StoreError) {
        self.path = path
        self.logger = logger
        self.durability = durability
        let faults = faults ?? StoreFaults(logger: logger)
        self.faults = faults
        self.queue = DispatchQueue(label: "energy-monitor.store")
        if readOnly {
            self.database = try SQLiteDatabase(path: path, readOnly: true)
            let version: Int64
            do {
                version = try database.scalarInt("PRAGMA user_version")
            } catch {
                throw StoreError(
                    code: error.code, message: "\(path) is not a readable SQLite database: \(error.message)")
            }
            guard version == Schema.currentVersion else {
                throw StoreError(
                    code: 0,
                    message: version == 0
                        ? "\(path) is not an energy-monitor database"
                        : version < Schema.currentVersion
                            ? "\(path) has schema version \(version); this build reads version \(Schema.currentVersion) (the service migrates it when it starts)"
                            : "\(path) has schema version \(version); this build reads version \(Schema.currentVersion)"
                )
            }
        } else {
            let database = try SQLiteDatabase(path: path)
            try Self.prepare(database, durability: durability)
            self.database = database
        }
        database.faults = faults
        // Opened after the migrations, so that it sees the current schema.
        self.reader = try SQLiteDatabase(path: path, readOnly: true)
        reader.faults = faults
        self.queryThread = QueryThread(name: "energy-monitor.store.query")
        try loadConnectionState()
        if !readOnly {
            var watch = StoreFileWatch(path: path)
            watch.record()
            fileWatch = watch
        }
    }

    /// Reads what the writer keeps of the database: node ids, the packing mark, the interval.
    private func loadConnectionState() throws(StoreError) {
        try loadNodeIDs()
        packedUntil = try database.meta("packed_until_ms", in: StoredSample.times) ?? .min
        stepMilliseconds = try database.meta("interval_ms", in: Self.intervals) ?? stepMilliseconds
    }

    /// Forgets everything tied to the writer's connection (prepared statements, cached ids
    /// and counters) and reads it again from the database now open. Store queue only.
    func reloadConnectionState() throws(StoreError) {
        forgetStatements()
        committedCounters = [:]
        nodeIDs = [:]
        packedUntil = .min
        try loadConnectionState()
    }

    /// Frees the writer's prepared statements (before its connection is closed). Store queue only.
    func forgetStatements() {
        updateNode = nil
        insertBackfillPart = nil
        chunkWriter = nil
        recentWriter = nil
    }

    /// Forgets the reader's cached node ids (after the reader opened another file). Query thread only.
    func forgetReaderCaches() {
        readerNodeIDs = [:]
    }

    static func prepare(_ database: SQLiteDatabase, durability: Durability) throws(StoreError) {
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
        // In WAL mode NORMAL survives a crash of the process but not a power cut; FULL syncs
        // the log at every commit, so a committed tick survives both (see Durability).
        try database.execute("PRAGMA synchronous = \(durability.pragmaValue); PRAGMA foreign_keys = ON")
        // A tick of a large cluster dirties one leaf page per node (the samples are clustered
        // by node): a 16 MiB cache keeps such a tick from spilling into the log before its
        // commit, and checkpoints every 8,192 pages (32 MiB) instead of every 1,000 move each
        // page into the file once per many ticks. The cache grows only as pages are used, and
        // the log file is cut back to 64 MiB after a checkpoint.
        try database.execute(
            "PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 67108864"
        )
        if version < 0 || version > Schema.currentVersion {
            throw StoreError(
                code: 0,
                message: version < 0
                    ? "\(database.path) has schema version \(version), which no energy-monitor writes"
                    : "\(database.path) has schema version \(version), newer than this build's \(Schema.currentVersion)"
            )
        }
        for target in Int(version)..<Int(Schema.currentVersion) {
            try database.transaction { () throws(StoreError) in
                switch Schema.migrations[target] {
                case .sql(let sql): try database.execute(sql)
                case .code(let migrate): try migrate(database)
                }
                try database.execute("PRAGMA user_version = \(target + 1)")
            }
        }
        if version > 0, version < Schema.currentVersion {
            // A migration that repacked the samples freed most pages: give them back.
            try database.execute("PRAGMA incremental_vacuum")
        }
    }

    private func loadNodeIDs() throws(StoreError) {
        let statement = try database.prepare("SELECT id, name FROM node")
        while try statement.step() {
            nodeIDs[statement.text(1)] = statement.int(0)
        }
    }

    deinit {
        queryThread.stop()
    }

    /// Closes the connections after pending work: the reader first, so that the writer, the
    /// last connection, checkpoints the log into the file as it closes.
    public func close() {
        queryThread.sync { self.reader.close() }
        queue.sync {
            // A connection with prepared statements left is only closed once they are
            // finalized (`sqlite3_close_v2`): let the cached ones go first, so the file is
            // really closed (and its log checkpointed and removed) now, not at deinit.
            updateNode = nil
            insertBackfillPart = nil
            chunkWriter = nil
            recentWriter = nil
            database.close()
        }
    }

    /// Runs `body` on the writer's queue.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(StoreError) in try body() })
            }
        }
        return try result.get()
    }

    /// Runs `body` with the reader connection, on the query thread, in one read transaction:
    /// one consistent snapshot however many statements it runs.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws(StoreError) -> T)
        async throws(StoreError) -> T
    {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queryThread.async {
                continuation.resume(
                    returning: Result { () throws(StoreError) -> T in
                        try self.reader.read { () throws(StoreError) -> T in try body(self.reader) }
                    }
                )
            }
        }
        return try result.get()
    }

    /// The id of node `name` as the reader sees it. Query thread only.
    func readerNodeID(_ name: String, in reader: SQLiteDatabase) throws(StoreError) -> Int64? {
        if let id = readerNodeIDs[name] { return id }
        let id = try reader.lookupNodeID(name)
        if let id { readerNodeIDs[name] = id }
        return id
    }

    /// Writes one tick's samples, the nodes' counters and the energy recorded for gaps
    /// (`backfill`, by node) in one transaction.
    public func write(
        samples: [Sample], counters: [String: EnergyCounters], backfill: [String: [BackfillPart]] = [:]
    ) async throws(StoreError) {
        try await run { () throws(StoreError) in
            try self.writeSynchronously(samples: samples, counters: counters, backfill: backfill)
        }
    }

    private func writeSynchronously(
        samples: [Sample], counters: [String: EnergyCounters], backfill: [String: [BackfillPart]]
    ) throws(StoreError) {
        try checkFiles()
        let written: [(Int64, EnergyCounters)]
        do {
            written = try insertTick(samples: samples, counters: counters, backfill: backfill)
        } catch {
            // The rollback also undid nodes inserted by this tick: forget their cached ids.
            nodeIDs.removeAll()
            try? loadNodeIDs()
            throw error
        }
        for (id, counter) in written { committedCounters[id] = counter }
        // The first tick of a new minute packs the minutes before it. A failure leaves the
        // samples where they are, committed and readable, and the next tick tries again; it is
        // logged once, and so is the recovery.
        if let newest = samples.lazy.map(\.timestampMilliseconds).max() {
            let cutoff = Self.floorDiv(newest, 60_000) * 60_000
            guard cutoff > packedUntil else { return }
            do {
                try pack(before: cutoff)
                if packError != nil {
                    packError = nil
                    logger?.info("packing completed minutes works again")
                }
            } catch {
                if packError == nil {
                    logger?.error(
                        "packing completed minutes failed; their samples stay unpacked and are retried each tick",
                        metadata: ["error": "\(error.message)"]
                    )
                }
                packError = error.message
            }
        }
    }

    /// Inserts the samples and the moved counters in one transaction; returns the counters written.
    private func insertTick(
        samples: [Sample], counters: [String: EnergyCounters], backfill: [String: [BackfillPart]]
    ) throws(StoreError) -> [(Int64, EnergyCounters)] {
        try database.transaction { () throws(StoreError) -> [(Int64, EnergyCounters)] in
            if updateNode == nil {
                updateNode = try database.prepare(
                    """
                    UPDATE node SET energy_joules = ?, device_joules = ?, last_ts_ms = ?, last_watts = ?,
                        last_device_wh = ?, last_device_reading_ms = ?, minute_ms = ?, minute_joules = ?,
                        minute_covered_ms = ?, emissions_grams = ?, cost = ?, cost_currency = ? WHERE id = ?
                    """
                )
            }
            guard let updateNode else { return [] }
            var stored: [StoredSample] = []
            stored.reserveCapacity(samples.count)
            for sample in samples { stored.append(StoredSample(sample, node: try nodeID(sample.node))) }
            try insertRecent(stored)
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
                updateNode.bind(6, counter.lastDeviceReadingMilliseconds)
                updateNode.bind(7, counter.minuteStartMilliseconds)
                updateNode.bind(8, counter.minuteStartMilliseconds == nil ? nil : counter.minuteJoules)
                updateNode.bind(9, counter.minuteStartMilliseconds == nil ? nil : counter.minuteCoveredMilliseconds)
                updateNode.bind(10, counter.emissionsGrams)
                updateNode.bind(11, counter.cost)
                if let currency = counter.costCurrency {
                    updateNode.bind(12, currency)
                } else {
                    updateNode.bind(12, nil as Int64?)
                }
                updateNode.bind(13, id)
                try updateNode.step()
                written.append((id, counter))
            }
            try insertBackfill(backfill)
            return written
        }
    }

    /// Appends samples of many nodes to `recent`: one row per group of samples that report
    /// the same fields (a tick of 1,000 nodes is a row or two, not 1,000 rows).
    func insertRecent(_ samples: [StoredSample]) throws(StoreError) {
        guard !samples.isEmpty else { return }
        if recentWriter == nil { recentWriter = ChunkWriter(database: database, layout: .tick) }
        guard let recentWriter else { return }
        var groups: [Int: [StoredSample]] = [:]
        for sample in samples { groups[sample.presence, default: []].append(sample) }
        for presence in groups.keys.sorted() {
            // In time order, so that a backlog of many ticks packs into few rows.
            var group = groups[presence] ?? []
            if !group.isSortedByTime { group.sort { $0.timestampMilliseconds < $1.timestampMilliseconds } }
            try recentWriter.insert(samples: group[...], step: 0)
        }
    }

    /// Moves every recent sample before `cutoff` into chunks, one per node and minute, in
    /// one transaction: a reader sees each sample either in `recent` or packed, never both.
    func pack(before cutoff: Int64) throws(StoreError) {
        let step = stepMilliseconds
        try database.transaction { () throws(StoreError) in
            let rows = try database.prepare("SELECT \(Self.recentColumns) FROM recent WHERE start_ms < ?")
            rows.bind(1, cutoff)
            var byNode: [Int64: [StoredSample]] = [:]
            while try rows.step() {
                do throws(StoredRowDefect) {
                    for sample in try Self.recentRow(rows).decoded() { byNode[sample.node, default: []].append(sample) }
                } catch {
                    // Deleted with the rest below: it cannot be packed, and it is reported once.
                    database.skipped(.recent, nodeID: nil, start: rows.int(0), error)
                }
            }
            guard !byNode.isEmpty else { return }
            let delete = try database.prepare("DELETE FROM recent WHERE start_ms < ?")
            delete.bind(1, cutoff)
            try delete.step()
            if chunkWriter == nil { chunkWriter = ChunkWriter(database: database, summarize: true) }
            guard let chunkWriter else { return }
            var later: [StoredSample] = []
            for node in byNode.keys.sorted() {
                var samples = byNode[node] ?? []
                samples.normalizeOrder()
                let end = samples.firstIndex { $0.timestampMilliseconds >= cutoff } ?? samples.endIndex
                later.append(contentsOf: samples[end...])
                var start = 0
                while start < end {
                    let minute = Self.floorDiv(samples[start].timestampMilliseconds, 60_000)
                    var next = start + 1
                    while next < end, Self.floorDiv(samples[next].timestampMilliseconds, 60_000) == minute { next += 1 }
                    try chunkWriter.insert(node: node, samples: samples[start..<next], step: step)
                    start = next
                }
            }
            // A row of a backlog may reach past the cutoff: that part stays recent.
            try insertRecent(later)
            try database.setMeta("packed_until_ms", cutoff)
        }
        packedUntil = cutoff
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
    public func samples(node: String, fromMilliseconds: Int64, toMilliseconds: Int64) async throws(StoreError)
        -> [Sample]
    {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [Sample] in
            guard toMilliseconds > fromMilliseconds, let id = try self.readerNodeID(node, in: reader) else { return [] }
            return try reader.storedSamples(id, from: fromMilliseconds, to: toMilliseconds - 1).map {
                $0.sample(node: node)
            }
        }
    }

    /// The number of raw samples of every node with `from <= time < to` (unix milliseconds).
    public func sampleCount(fromMilliseconds: Int64, toMilliseconds: Int64) async throws(StoreError) -> Int {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> Int in
            guard toMilliseconds > fromMilliseconds else { return 0 }
            var count = 0
            for sample in try reader.recentSamples()
            where sample.timestampMilliseconds >= fromMilliseconds && sample.timestampMilliseconds < toMilliseconds {
                count += 1
            }
            let chunks = try reader.prepare(Self.chunksOfNode)
            for id in try reader.allNodeIDs() {
                try Self.forEachPackedSample(id, from: fromMilliseconds, to: toMilliseconds - 1, using: chunks) { _ in
                    count += 1
                }
            }
            return count
        }
    }

    /// The columns `chunk(_:)` reads, in its order.
    static let chunkColumns =
        "start_ms, samples, step_ms, " + Schema.fieldColumns(.nodeMinute).joined(separator: ", ") + ", data"
    /// The columns `recentRow(_:)` reads, in its order.
    static let recentColumns = "start_ms, samples, 0, " + Schema.fieldColumns(.tick).joined(separator: ", ") + ", data"

    /// The chunk on the current row of a statement selecting `chunkColumns`.
    static func chunk(_ row: Statement) throws(StoredRowDefect) -> SampleChunk {
        try packedRow(row, layout: .nodeMinute)
    }

    /// The packed row on the current row of a statement selecting `recentColumns`.
    static func recentRow(_ row: Statement) throws(StoredRowDefect) -> SampleChunk { try packedRow(row, layout: .tick) }

    /// A packed row, every column of the type the writer gives it (a row edited by hand can
    /// hold anything anywhere); `SampleChunk.decoded` checks the values.
    private static func packedRow(_ row: Statement, layout: SampleChunk.Layout) throws(StoredRowDefect) -> SampleChunk {
        var fields: [SampleChunk.Field] = []
        let count = layout.fieldNames.count
        for index in 0..<count {
            let column = Int32(3 + 3 * index)
            let name = layout.fieldNames[index]
            guard row.isNull(column) || row.storedInt(column) != nil else {
                throw StoredRowDefect("\(name)_base is not an integer")
            }
            guard let scale = row.storedInt(column + 1), let width = row.storedInt(column + 2) else {
                throw StoredRowDefect("\(name)_scale or \(name)_width is not an integer")
            }
            fields.append(SampleChunk.Field(base: row.storedInt(column), scale: scale, width: Int(width)))
        }
        guard let start = row.storedInt(0), let samples = row.storedInt(1), let step = row.storedInt(2) else {
            throw StoredRowDefect("start_ms, samples or step_ms is not an integer")
        }
        let dataColumn = Int32(3 + 3 * count)
        guard row.isBlob(dataColumn) else { throw StoredRowDefect("data is not a blob") }
        return SampleChunk(
            startMilliseconds: start, stepMilliseconds: step, count: Int(samples), fields: fields,
            data: row.blob(dataColumn))
    }

    /// The chunks of one node (`?1`) whose start lies in `?2...?3`, oldest first.
    static let chunksOfNode =
        "SELECT \(chunkColumns) FROM chunk WHERE node_id = ?1 AND start_ms >= ?2 AND start_ms <= ?3 ORDER BY start_ms"

    /// Calls `body` with every packed sample of node `id` with `from <= time <= to`, oldest
    /// first, through `chunks` (prepared from `chunksOfNode`). A chunk that cannot be decoded
    /// is skipped and reported (`StoreFaults`).
    static func forEachPackedSample(
        _ id: Int64, from: Int64, to: Int64, using chunks: Statement, _ body: (StoredSample) -> Void
    ) throws(StoreError) {
        guard to >= from else { return }
        chunks.reset()
        chunks.bind(1, id)
        // A chunk holds samples of one minute only, so its start bounds them.
        chunks.bind(2, minuteStart(from))
        chunks.bind(3, to)
        while try chunks.step() {
            let samples: [StoredSample]
            do throws(StoredRowDefect) {
                samples = try chunk(chunks).decoded(node: id)
            } catch {
                chunks.database.skipped(.chunk, nodeID: id, start: chunks.int(0), error)
                continue
            }
            for sample in samples where sample.timestampMilliseconds >= from && sample.timestampMilliseconds <= to {
                body(sample)
            }
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

import Logging
import Synchronization

/// What the store found wrong with its own files, for `/metrics`, `/readyz` and the log: rows
/// whose values cannot be decoded (skipped, never a trap), and database files that vanished
/// or were replaced under the open connections.
///
/// Every bad row is counted and logged once, by table and key (node and time): a dashboard
/// that reads the same bad chunk every few seconds adds no count and no log line. The keys
/// seen are bounded; beyond the bound new bad rows are still counted but logged no more.
public final class StoreFaults: Sendable {
    /// The tables whose rows are checked as they are read back.
    public enum Table: String, Sendable, CaseIterable {
        /// Packed samples of one node and minute.
        case chunk
        /// Packed samples of the current minute.
        case recent
        /// Per-minute sums of the packed samples.
        case chunkMinute = "chunk_minute"
        /// Minute aggregates kept after the raw samples expire.
        case minute
        /// A node's running counters.
        case node
        /// The store's own marks (interval, packing and folding watermarks).
        case meta
        /// The family and identity each plug's credentials are pinned to.
        case plugPin = "plug_pin"
        /// Energy recorded for gaps from the devices' own figures.
        case backfill
        /// The pods' shares of each node's energy, per minute.
        case podMinute = "pod_minute"
    }

    /// The database files whose identity is checked every tick.
    public enum File: String, Sendable, CaseIterable {
        /// The database file itself.
        case database
        /// The write-ahead log (`-wal`).
        case wal
        /// The log's shared-memory index (`-shm`).
        case shm

        /// The file in words.
        public var words: String {
            switch self {
            case .database: "database file"
            case .wal: "write-ahead log (-wal)"
            case .shm: "log index (-shm)"
            }
        }
    }

    private struct State {
        var badRows: [Table: Int] = [:]
        var seen: Set<String> = []
        var fileChanges: [File: Int] = [:]
        var fileFault: String?
    }

    private let state = Mutex(State())
    private let logger: Logger?
    /// Bad rows remembered (so that each is logged once).
    static let maxRemembered = 4096

    /// Creates an empty record that logs to `logger`.
    public init(logger: Logger?) {
        self.logger = logger
    }

    /// Bad rows skipped so far, by table.
    public var badRows: [Table: Int] { state.withLock { $0.badRows } }

    /// Files found vanished or replaced so far, by file.
    public var fileChanges: [File: Int] { state.withLock { $0.fileChanges } }

    /// Why the store is not ready because of its files, while it is not.
    public var fileFault: String? { state.withLock { $0.fileFault } }

    /// Records a row skipped (or, with `action`, otherwise dealt with) because a value in it is
    /// out of range or of the wrong type: counted and logged the first time this row (by
    /// `table` and `key`) is seen.
    func badRow(
        _ table: Table, key: String, node: String?, startMilliseconds: Int64?, reason: String,
        action: String = "skipped"
    ) {
        let (first, remembered) = state.withLock { state -> (Bool, Bool) in
            let key = "\(table.rawValue):\(key)"
            guard !state.seen.contains(key) else { return (false, true) }
            state.badRows[table, default: 0] += 1
            guard state.seen.count < Self.maxRemembered else { return (true, false) }
            state.seen.insert(key)
            return (true, true)
        }
        guard first, remembered else { return }
        var metadata: Logger.Metadata = ["table": "\(table.rawValue)", "reason": "\(reason)", "action": "\(action)"]
        if let node { metadata["node"] = "\(node)" }
        if let startMilliseconds { metadata["startMs"] = "\(startMilliseconds)" }
        logger?.error("stored row out of range (counted in energy_monitor_store_bad_rows_total)", metadata: metadata)
    }

    /// Records files found vanished or replaced, and makes the store not ready for `reason`.
    func filesChanged(_ files: [File], reason: String) {
        state.withLock { state in
            for file in files { state.fileChanges[file, default: 0] += 1 }
            state.fileFault = reason
        }
    }

    /// Sets or clears why the store is not ready because of its files.
    func setFileFault(_ reason: String?) {
        state.withLock { $0.fileFault = reason }
    }
}

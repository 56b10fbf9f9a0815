#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The identities (device and inode) of the database file, its write-ahead log and the log's
/// index as the store's connections opened them, and the check that the files at those paths
/// are still the same: three `stat` calls, cheap enough for every tick.
///
/// SQLite keeps using the files it opened. When the log is deleted under an open connection,
/// the commits since the last checkpoint live only in the deleted file (every later
/// connection, the `sqlite3` shell's too, fails with `disk I/O error`, and the commits are
/// gone when the process ends); when the database file is replaced, the service writes into
/// the replaced file, which vanishes with the process. `EnergyStore` checks before each tick
/// and recovers (see `EnergyStore.checkFiles`).
struct StoreFileWatch {
    /// A file's identity.
    struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// A file found vanished or replaced.
    struct Change: Equatable {
        var file: StoreFaults.File
        /// True when nothing is at the path any more; false when another file is.
        var vanished: Bool
    }

    /// The database's path.
    let path: String
    /// The identities recorded when the connections opened the files.
    private(set) var opened: [StoreFaults.File: Identity] = [:]

    init(path: String) {
        self.path = path
    }

    /// The path of `file`.
    func path(of file: StoreFaults.File) -> String {
        switch file {
        case .database: path
        case .wal: path + "-wal"
        case .shm: path + "-shm"
        }
    }

    /// The identity of the file at `path`, or nil when there is none.
    static func identity(of path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Records the files as they are now (right after the connections opened them).
    mutating func record() {
        opened = [:]
        for file in StoreFaults.File.allCases {
            if let identity = Self.identity(of: path(of: file)) { opened[file] = identity }
        }
    }

    /// The files that vanished or were replaced since `record()`. A file that was absent
    /// then and exists now is recorded (the log and its index appear with the first write).
    mutating func changes() -> [Change] {
        var changes: [Change] = []
        for file in StoreFaults.File.allCases {
            let now = Self.identity(of: path(of: file))
            guard let recorded = opened[file] else {
                if let now { opened[file] = now }
                continue
            }
            if now != recorded { changes.append(Change(file: file, vanished: now == nil)) }
        }
        return changes
    }
}

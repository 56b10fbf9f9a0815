import CSQLite
import EnergyModel
import Synchronization

/// Where a recovery from vanished or replaced files stands. Store queue only.
struct FileRecovery {
    /// The files found vanished or replaced, until the connections are open on the files at
    /// the paths again.
    var pending: [StoreFileWatch.Change] = []
    /// Whether the log has been moved into the database and the old connections closed
    /// (only reopening is left).
    var closed = false
    /// Checks in a row that found the files unchanged since the last recovery.
    var settledChecks = 0
    /// What happened, in words (for `/readyz`).
    var reason = ""
}

extension EnergyStore {
    /// Checks after a recovery that must find the files unchanged before the store reports
    /// ready again: files that are deleted or replaced again and again keep it not ready.
    static let settleChecks = 3

    /// Checks that the database, its log and the log's index are still the files the
    /// connections opened, before each tick (store queue only; about three `stat` calls).
    ///
    /// When one vanished or was replaced, the store reports not ready (`StoreFaults.fileFault`),
    /// counts and logs it, and recovers before the tick is written:
    ///
    /// 1. `PRAGMA wal_checkpoint(TRUNCATE)` through the writer, which still has the log it
    ///    opened even when its path is gone: every committed page moves into the database file
    ///    the connection has open, so no commit is lost with the deleted log.
    /// 2. If the database file itself vanished, `VACUUM INTO` writes the open database back
    ///    to its path; if another file was put there, the open database is saved next to it
    ///    as `<path>.replaced-<unix ms>` and the service goes on with the new file (migrated
    ///    when it is an older energy-monitor database).
    /// 3. Both connections are closed (keeping whatever log and index now lie at the paths,
    ///    which are not theirs) and opened again on the files at the paths.
    ///
    /// A step that fails (a reader holds the log, the new file is not a database) throws: the
    /// tick waits in memory like during any store outage, and the next tick tries again. The
    /// store reports ready again once `settleChecks` checks in a row found the files unchanged.
    func checkFiles() throws(StoreError) {
        guard var watch = fileWatch else { return }
        let changes = watch.changes()
        fileWatch = watch
        if changes.isEmpty, fileRecovery.pending.isEmpty {
            guard faults.fileFault != nil else { return }
            fileRecovery.settledChecks += 1
            if fileRecovery.settledChecks >= Self.settleChecks {
                faults.setFileFault(nil)
                logger?.info("store files unchanged since the recovery; ready again")
            }
            return
        }
        let fresh = changes.filter { change in !fileRecovery.pending.contains { $0.file == change.file } }
        if !fresh.isEmpty {
            let files = fresh.map { "\(watch.path(of: $0.file)) \($0.vanished ? "vanished" : "replaced")" }
                .joined(separator: ", ")
            fileRecovery.settledChecks = 0
            fileRecovery.pending += fresh
            // Words for `/readyz` (no paths there); the paths go to the log.
            fileRecovery.reason =
                fileRecovery.pending.map { "the \($0.file.words) \($0.vanished ? "vanished" : "was replaced")" }
                .joined(separator: ", ") + " under the open database"
            faults.filesChanged(fresh.map(\.file), reason: fileRecovery.reason + "; recovering")
            logger?.error(
                "store file vanished or replaced under the open database; checkpointing and reopening",
                metadata: ["files": "\(files)"])
        }
        try recoverFiles()
    }

    /// Steps 1 and 2 of the recovery (see `checkFiles`), with statements that are freed before
    /// the connection is closed.
    private func moveLogIntoDatabase(_ databaseChange: StoreFileWatch.Change?) throws(StoreError) {
        // 1. Every commit into the file the writer has open, whatever lies at the paths now.
        let checkpoint = try database.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
        guard try checkpoint.step(), checkpoint.int(0) == 0 else {
            throw StoreError(
                code: SQLITE_BUSY, message: "cannot move the write-ahead log into the database yet (a reader holds it)")
        }
        checkpoint.reset()
        // 2. The database file itself: written back to its path, or saved beside the new one.
        guard let databaseChange else { return }
        let target = databaseChange.vanished ? path : "\(path).replaced-\(WallClock.nowMilliseconds())"
        let vacuum = try database.prepare("VACUUM INTO ?1")
        vacuum.bind(1, target)
        try vacuum.step()
        logger?.notice(
            databaseChange.vanished
                ? "store database written back to its path" : "store database saved beside the file that replaced it",
            metadata: ["path": "\(target)"])
    }

    /// Runs what is left of the recovery (see `checkFiles`).
    private func recoverFiles() throws(StoreError) {
        let pending = fileRecovery.pending
        let databaseChange = pending.first { $0.file == .database }
        if !fileRecovery.closed {
            try moveLogIntoDatabase(databaseChange)
            // 3. Closed on the old files. A log or index path that is not the connection's own
            // any more must not be deleted by the close, which deletes them by path. The close
            // must happen now: a statement still prepared would keep the connection open until
            // it is freed, after the reopen, and its close would then delete the new log.
            if pending.contains(where: { $0.file != .database }) {
                var persist: Int32 = 1
                _ = sqlite3_file_control(database.handle, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
            }
            forgetStatements()
            queryThread.sync { self.reader.close() }
            database.close()
            fileRecovery.closed = true
        }
        // Opened on the files at the paths (migrated if the new file is an older database).
        try database.reopen()
        do {
            try Self.prepare(database, durability: durability)
            try reloadConnectionState()
        } catch {
            database.close()
            throw error
        }
        let failure = Mutex<StoreError?>(nil)
        queryThread.sync {
            self.forgetReaderCaches()
            do throws(StoreError) { try self.reader.reopen() } catch { failure.withLock { $0 = error } }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        fileWatch?.record()
        let reason = fileRecovery.reason
        fileRecovery = FileRecovery()
        faults.setFileFault(reason + "; reopened, ready once the files stay put for \(Self.settleChecks) ticks")
        logger?.info("store reopened on the files at its path", metadata: ["path": "\(path)"])
    }
}

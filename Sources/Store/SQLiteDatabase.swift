import CSQLite

/// A failure reported by SQLite, with the statement context and SQLite's own message.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite result code (`SQLITE_FULL`, `SQLITE_READONLY`, ...), or 0 for our own checks.
    public var code: Int32
    /// One readable line.
    public var message: String

    /// Creates an error.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// One SQLite connection. Not thread-safe: `EnergyStore` confines it to its own queue.
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    let path: String
    /// Whether the connection was opened for queries only.
    let readOnly: Bool
    /// Where rows that cannot be decoded are reported (see `StoreFaults`).
    var faults: StoreFaults?

    /// `SQLITE_TRANSIENT`: makes SQLite copy bound text before the call returns.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        self.readOnly = readOnly
        handle = try Self.open(path, readOnly: readOnly)
    }

    /// Closes the connection and opens the file at `path` again (after the file or its log
    /// was replaced under the open connection). Statements of the old connection must not
    /// be used afterwards.
    func reopen() throws(StoreError) {
        close()
        handle = try Self.open(path, readOnly: readOnly)
    }

    private static func open(_ path: String, readOnly: Bool) throws(StoreError) -> OpaquePointer {
        let flags = readOnly
            ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close(db)
            throw StoreError(code: code, message: "cannot open database \(path): \(message)")
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
        return db
    }

    deinit {
        close()
    }

    func close() {
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    func execute(_ sql: String) throws(StoreError) {
        guard handle != nil else { throw Self.closedError }
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastError
            sqlite3_free(errorMessage)
            throw StoreError(code: code, message: message)
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        guard handle != nil else { throw Self.closedError }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            throw StoreError(code: code, message: "\(lastError) in: \(sql)")
        }
        return Statement(handle: statement, database: self)
    }

    /// What a closed connection (one whose file could not be opened again) answers.
    static let closedError = StoreError(
        code: SQLITE_CANTOPEN, message: "the database is closed (it could not be opened again)")

    /// Rows changed by the last statement.
    var changes: Int64 { handle.map { Int64(sqlite3_changes($0)) } ?? 0 }

    var lastError: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database closed"
    }

    /// Runs `body` in a write transaction; rolls back if it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try inTransaction("BEGIN IMMEDIATE", body)
    }

    /// Runs `body` in a read transaction: one consistent snapshot for several statements.
    func read<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try inTransaction("BEGIN", body)
    }

    private func inTransaction<T>(_ begin: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute(begin)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    func scalarInt(_ sql: String) throws(StoreError) -> Int64 {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    func scalarText(_ sql: String) throws(StoreError) -> String {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return "" }
        return statement.text(0)
    }
}

/// A prepared statement. Reset before each use by `bind`.
final class Statement {
    let handle: OpaquePointer
    unowned let database: SQLiteDatabase

    init(handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit {
        sqlite3_finalize(handle)
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: String) {
        sqlite3_bind_text(handle, index, value, -1, SQLiteDatabase.transient)
    }

    func bind(_ index: Int32, _ value: [UInt8]) {
        value.withUnsafeBytes { raw in
            // A zero-length blob still needs a non-null pointer to be a blob, not NULL.
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), SQLiteDatabase.transient)
        }
    }

    /// Steps once; true while a row is available.
    @discardableResult
    func step() throws(StoreError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StoreError(code: code, message: database.lastError)
        }
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    /// The value when SQLite holds an integer there; nil for NULL, a real number, text or a
    /// blob (what a row edited by hand can hold in any column).
    func storedInt(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_INTEGER ? sqlite3_column_int64(handle, column) : nil
    }
    /// The value when SQLite holds a finite number there; nil for NULL, infinities, text or a blob.
    func storedDouble(_ column: Int32) -> Double? {
        let type = sqlite3_column_type(handle, column)
        guard type == SQLITE_FLOAT || type == SQLITE_INTEGER else { return nil }
        let value = sqlite3_column_double(handle, column)
        return value.isFinite ? value : nil
    }
    /// Whether the column holds a blob (not text, not a number).
    func isBlob(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_BLOB }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }
    func blob(_ column: Int32) -> [UInt8] {
        // column_blob before column_bytes, as SQLite asks.
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }
}

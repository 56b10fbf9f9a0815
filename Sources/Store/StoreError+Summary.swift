import CSQLite

extension StoreError {
    /// What went wrong, in words fit for an HTTP answer or a probe: SQLite's text for the
    /// result code (`disk I/O error`, `database or disk is full`). Never `message`, which can
    /// hold SQL text and the database's path; that belongs in the server's log.
    public var summary: String {
        guard code != 0 else { return "unexpected database state" }
        return String(cString: sqlite3_errstr(code))
    }
}

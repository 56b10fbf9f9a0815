/// Why a row read back from the store cannot be used: a value of the wrong type, out of
/// range, or one whose decoding would overflow. The row is skipped and reported to
/// `StoreFaults`; the rest of the answer is served.
struct StoredRowDefect: Error, Equatable, CustomStringConvertible {
    /// What is wrong, in a few words.
    var reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    var description: String { reason }
}

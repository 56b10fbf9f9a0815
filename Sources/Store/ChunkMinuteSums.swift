/// Adds samples of one node and one minute to that minute's row of `chunk_minute`: the
/// sample count, the sum of milliwatts and the newest time. Rows add up, so a minute packed
/// in two parts (a backlog row that reached past the cutoff) sums both.
final class ChunkMinuteSums {
    private let database: SQLiteDatabase
    private var statement: Statement?

    init(database: SQLiteDatabase) {
        self.database = database
    }

    func add(node: Int64, samples: ArraySlice<StoredSample>) throws(StoreError) {
        guard let first = samples.first else { return }
        if statement == nil {
            statement = try database.prepare(
                """
                INSERT INTO chunk_minute (node_id, minute, samples, sum_mw, last_ms) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (node_id, minute) DO UPDATE SET samples = samples + excluded.samples,
                    sum_mw = sum_mw + excluded.sum_mw, last_ms = max(last_ms, excluded.last_ms)
                """
            )
        }
        guard let statement else { return }
        var sum: Int64 = 0
        var last = first.timestampMilliseconds
        for sample in samples {
            sum = sum.addingClamped(sample.milliwatts)
            last = max(last, sample.timestampMilliseconds)
        }
        statement.reset()
        statement.bind(1, node)
        statement.bind(2, EnergyStore.floorDiv(first.timestampMilliseconds, 60_000))
        statement.bind(3, Int64(samples.count))
        statement.bind(4, sum)
        statement.bind(5, last)
        try statement.step()
    }
}

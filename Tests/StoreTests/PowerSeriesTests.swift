import Dispatch
import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

#if canImport(Glibc)
    import Glibc
#endif

/// Power series: minute steps from the per-minute sums agree with the raw samples; queries
/// run on their own connection and never hold up a tick.
@Suite("SQLite store: power series and the reader connection")
struct PowerSeriesTests {
    static let start: Int64 = 1_700_000_040_000  // a minute boundary

    /// Node `a` with a gap, node `b` without one and without volts, 1 Hz with jitter, for 47
    /// minutes and 13 seconds: completed minutes packed, the last one still recent.
    static func data() -> [Sample] {
        let seconds = 47 * 60 + 13
        return (0..<seconds).flatMap { second -> [Sample] in
            let time = start + Int64(second) * 1000 + Int64(second * 37 % 23)
            let watts = 20 + 10 * sin(Double(second) / 37) + Double(second % 7) * 0.1
            var samples = [Sample(node: "b", timestampMilliseconds: time + 3, reading: Reading(watts: watts / 3))]
            if !(600..<750).contains(second) {
                samples.append(
                    Sample(
                        node: "a", timestampMilliseconds: time, reading: Reading(watts: watts, volts: 230, amps: 0.1)))
            }
            return samples
        }
    }

    /// One transaction per tick, as the service writes.
    static func fill(_ store: EnergyStore, _ data: [Sample]) async throws {
        let ticks = Dictionary(grouping: data) { $0.timestampMilliseconds / 1000 }
        for tick in ticks.keys.sorted() { try await store.write(samples: ticks[tick] ?? [], counters: [:]) }
    }

    /// The series computed here from every raw sample, the way the store defines it.
    static func reference(_ data: [Sample], node: String, from: Int64, to: Int64, step: Int64) -> [EnergyStore
        .PowerBucket]
    {
        var buckets: [Int64: (last: Int64, sum: Int64, count: Int)] = [:]
        for sample in data
        where sample.node == node && sample.timestampMilliseconds >= from && sample.timestampMilliseconds < to {
            let index = (sample.timestampMilliseconds - from) / step
            var bucket = buckets[index] ?? (sample.timestampMilliseconds, 0, 0)
            bucket.last = max(bucket.last, sample.timestampMilliseconds)
            bucket.sum += StoredSample(sample).milliwatts
            bucket.count += 1
            buckets[index] = bucket
        }
        return buckets.keys.sorted().compactMap { index in
            buckets[index].map {
                EnergyStore.PowerBucket(
                    startMilliseconds: from + index * step, lastSampleMilliseconds: $0.last,
                    averageWatts: Double($0.sum) / Double($0.count) / 1000, samples: $0.count
                )
            }
        }
    }

    @Test(
        "minute steps from the per-minute sums give the raw samples' answer, at aligned and cut edges",
        arguments: [
            (60_000, 0, 0), (60_000, 17_500, 3_001), (90_000, 0, 0), (90_000, 12_345, 45_678), (150_000, 59_999, 1),
            (3_600_000, 0, 0), (600_000, 30_000, 200_000), (7_000, 17_500, 3_001),
        ] as [(Int64, Int64, Int64)]
    )
    func minuteStepsAgree(step: Int64, fromOffset: Int64, toCut: Int64) async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/e.db")
        let data = Self.data()
        try await Self.fill(store, data)
        let from = Self.start + fromOffset
        let to = Self.start + 48 * 60_000 - toCut
        for node in ["a", "b"] {
            let series = try await store.powerSeries(
                node: node, fromMilliseconds: from, toMilliseconds: to, stepMilliseconds: step)
            let expected = Self.reference(data, node: node, from: from, to: to, step: step)
            #expect(series == expected, "\(node), step \(step)")
            #expect(!series.isEmpty)
        }
        store.close()
    }

    @Test(
        "a minute step reads the per-minute sums, not the samples",
        .enabled(if: sqlite3Available, "sqlite3 is not installed"))
    func minuteStepsReadSums() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/e.db"
        let store = try EnergyStore(path: path)
        try await Self.fill(store, Self.data())
        let to = Self.start + 30 * 60_000
        let before = try await store.powerSeries(
            node: "b", fromMilliseconds: Self.start, toMilliseconds: to, stepMilliseconds: 300_000)
        // Behind the store's back: the sums say 0 W, the samples still say otherwise.
        _ = try await sqlite3(path, "UPDATE chunk_minute SET sum_mw = 0")
        let sums = try await store.powerSeries(
            node: "b", fromMilliseconds: Self.start, toMilliseconds: to, stepMilliseconds: 300_000)
        let raw = try await store.powerSeries(
            node: "b", fromMilliseconds: Self.start, toMilliseconds: to, stepMilliseconds: 30_000)
        #expect(before.allSatisfy { $0.averageWatts > 3 })
        #expect(sums.count == before.count && sums.allSatisfy { $0.averageWatts == 0 })
        #expect(raw.allSatisfy { $0.averageWatts > 3 })
        store.close()
    }

    @Test("a version-2 database gets its per-minute sums when the store opens it")
    func migrationSumsChunks() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/e.db"
        let data = Self.data()
        do {
            let store = try EnergyStore(path: path)
            try await Self.fill(store, data)
            store.close()
        }
        do {
            let database = try SQLiteDatabase(path: path)
            try database.downgrade(to: 2)
        }
        let store = try EnergyStore(path: path)
        #expect(
            try await store.run { () throws(StoreError) in try store.database.scalarInt("PRAGMA user_version") }
                == Schema.currentVersion)
        let to = Self.start + 48 * 60_000
        for node in ["a", "b"] {
            let series = try await store.powerSeries(
                node: node, fromMilliseconds: Self.start, toMilliseconds: to, stepMilliseconds: 120_000)
            #expect(series == Self.reference(data, node: node, from: Self.start, to: to, step: 120_000), "\(node)")
        }
        store.close()
    }

    @Test("folding deletes the per-minute sums with their chunks; series across the watermark still answer")
    func foldDeletesSums() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/e.db")
        let data = Self.data()
        try await Self.fill(store, data)
        let cutoff = Self.start + 20 * 60_000
        while try await store.retentionStep(
            rawCutoffMilliseconds: cutoff, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 3000
        ).moreToDo {}
        let oldest = try await store.run { () throws(StoreError) -> Int64 in
            try store.database.scalarInt("SELECT min(minute) FROM chunk_minute")
        }
        #expect(oldest * 60_000 >= cutoff - 60_000)
        let to = Self.start + 48 * 60_000
        let series = try await store.powerSeries(
            node: "b", fromMilliseconds: Self.start, toMilliseconds: to, stepMilliseconds: 60_000)
        // Minute rows before the watermark, sums after it: one point per minute either way.
        #expect(series.map(\.startMilliseconds) == (0..<48).map { Self.start + Int64($0) * 60_000 })
        let later = Self.reference(data, node: "b", from: Self.start, to: to, step: 60_000).filter {
            $0.startMilliseconds >= cutoff
        }
        #expect(Array(series.suffix(later.count)) == later)
        store.close()
    }

    @Test("the writer syncs every commit (synchronous FULL) unless told otherwise")
    func durability() async throws {
        let folder = try TemporaryDirectory()
        for (durability, expected) in [(EnergyStore.Durability.powerLoss, Int64(2)), (.processCrash, 1)] {
            let store = try EnergyStore(path: folder.path + "/\(durability.pragmaValue).db", durability: durability)
            let setting = try await store.run { () throws(StoreError) in
                try store.database.scalarInt("PRAGMA synchronous")
            }
            #expect(setting == expected, "\(durability)")
            store.close()
        }
    }

    @Test("queries run on a thread of lower CPU priority than the writer's")
    func queryThreadPriority() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/e.db")
        let niceness = { @Sendable () -> Int32 in getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        let query = await withCheckedContinuation { continuation in
            store.queryThread.async { continuation.resume(returning: niceness()) }
        }
        let writer = await withCheckedContinuation { continuation in
            store.queue.async { continuation.resume(returning: niceness()) }
        }
        #expect(query == min(19, writer + 10), "query thread nice \(query), writer \(writer)")
        store.close()
    }

    @Test("ticks are written and the store answers /readyz while a query holds the reader")
    func readerDoesNotBlockWriter() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/e.db")
        let first = Sample(node: "a", timestampMilliseconds: Self.start, reading: Reading(watts: 1))
        try await store.write(samples: [first], counters: [:])
        // A long query: the query thread is busy until released.
        let release = DispatchSemaphore(value: 0)
        // Released below; again on the way out if the write never came back (a second
        // signal only leaves a count behind).
        defer { release.signal() }
        store.queryThread.async { release.wait() }
        let second = Sample(node: "a", timestampMilliseconds: Self.start + 1000, reading: Reading(watts: 2))
        let written = try await withTimeout(.seconds(20), "a tick write while the reader is busy") {
            try await store.write(samples: [second], counters: [:])
            return await store.ping()
        }
        #expect(written)
        let query = Task { try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: .max) }
        release.signal()
        #expect(try await query.value == [first, second])
        store.close()
    }
}

import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

/// The energy recorded for gaps: written with a tick, answered with every window's figures,
/// shown in `power_minute` beside the measured minutes, kept and forgotten like them.
@Suite("Backfilled energy in the store")
struct BackfillStoreTests {
    static let start: Int64 = 1_700_000_040_000  // a minute boundary

    /// 20 minutes of node `a` at 1 Hz and 30 W, without minutes 5 to 7 (a gap from the sample
    /// at 4:59 to the one at 8:00), and the parts the device's figures recorded for that gap.
    static func fill(_ store: EnergyStore) async throws -> [BackfillPart] {
        var samples: [Sample] = []
        for second in Int64(0)..<1200 where !(300..<480).contains(second) {
            samples.append(
                Sample(node: "a", timestampMilliseconds: start + second * 1000, reading: Reading(watts: 30)))
        }
        for index in stride(from: 0, to: samples.count, by: 60) {
            try await store.write(samples: Array(samples[index..<min(index + 60, samples.count)]), counters: [:])
        }
        // 181 s at 30 W: the first second from the counter, three whole minutes from the device.
        let parts = GapFill.parts(
            from: start + 299_000, to: start + 480_000, counterJoules: 30 * 181,
            figures: DeviceMinutes(
                source: .minutes,
                intervals: (5...7).map {
                    DeviceMinutes.Interval(
                        startMilliseconds: start + $0 * 60_000, endMilliseconds: start + ($0 + 1) * 60_000, joules: 1800
                    )
                }))
        try await store.write(samples: [], counters: [:], backfill: ["a": parts])
        return parts
    }

    @Test("a window's joules are measured plus backfilled; a window the parts cut takes its share")
    func windows() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        let parts = try await Self.fill(store)
        #expect(parts.map(\.source) == [.counter, .minutes, .minutes, .minutes])
        #expect(try await store.backfillParts(node: "a", fromMilliseconds: 0, toMilliseconds: .max) == parts)
        let whole = try await store.energy(
            node: "a", fromMilliseconds: Self.start, toMilliseconds: Self.start + 1_200_000, maxGapMilliseconds: 3000)
        #expect(abs(whole.joules - 30 * 1199) < 1e-6, "\(whole)")
        #expect(abs(whole.backfill.joules - 30 * 181) < 1e-6)
        #expect(whole.backfill.joulesBySource[.minutes] == 5400)
        #expect(abs(whole.coveragePercent + whole.backfilledPercent + whole.missingPercent - 100) < 1e-9)
        #expect(whole.missingPercent < 0.1)
        #expect(abs((whole.averageWatts ?? 0) - 30) < 1e-9)
        // Half of minute 6: its share of the device's figure.
        let half = try await store.energy(
            node: "a", fromMilliseconds: Self.start + 360_000, toMilliseconds: Self.start + 390_000,
            maxGapMilliseconds: 3000)
        #expect(half.energy.joules == 0 && half.backfill.joules == 900 && half.backfilledPercent == 100)
        #expect(half.coveragePercent == 0 && half.missingPercent == 0)
    }

    @Test(
        "power_minute shows the backfilled minutes, marked, and its joules add up to the window's after folding",
        .enabled(if: sqlite3Available, "sqlite3 is not installed"))
    func view() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("e.db")
        let store = try EnergyStore(path: path)
        _ = try await Self.fill(store)
        var more = true
        while more {
            more = try await store.retentionStep(
                rawCutoffMilliseconds: Self.start + 1_200_000, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 3000
            ).moreToDo
        }
        let complete = try await store.energy(
            node: "a", fromMilliseconds: Self.start, toMilliseconds: Self.start + 1_200_000, maxGapMilliseconds: 3000)
        let columns = try await sqlite3(path, "SELECT group_concat(name) FROM pragma_table_info('power_minute')")
        #expect(columns == "node,ts,samples,avg_watts,min_watts,max_watts,joules,backfilled,source,covered_s")
        let sum = try await sqlite3(
            path,
            "SELECT round(sum(joules), 3), sum(backfilled), round(sum(covered_s), 3) FROM power_minute "
                + "WHERE node = 'a' AND ts >= \(Self.start / 1000) AND ts < \(Self.start / 1000 + 1200)")
        let fields = sum.split(separator: "|")
        #expect(fields.count == 3 && fields.dropFirst() == ["4", "1199.0"], "\(sum)")
        #expect(abs((Double(fields.first ?? "") ?? 0) - complete.joules) < 1e-3, "\(sum) vs \(complete)")
        #expect(abs(complete.joules - 30 * 1199) < 1e-6)
        let backfilled = try await sqlite3(
            path,
            "SELECT ts, samples, avg_watts, min_watts IS NULL, joules, source FROM power_minute WHERE backfilled = 1")
        #expect(
            backfilled.split(separator: "\n")
                == [
                    "\(Self.start / 1000 + 240).0|0|30.0|1|30.0|counter",
                    "\(Self.start / 1000 + 300).0|0|30.0|1|1800.0|minutes",
                    "\(Self.start / 1000 + 360).0|0|30.0|1|1800.0|minutes",
                    "\(Self.start / 1000 + 420).0|0|30.0|1|1800.0|minutes",
                ])
    }

    @Test("a rewind forgets the parts reaching past the mark; minute retention expires them")
    func forgetting() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        _ = try await Self.fill(store)
        _ = try await store.rewind(toMilliseconds: Self.start + 400_000)
        let left = try await store.backfillParts(node: "a", fromMilliseconds: 0, toMilliseconds: .max)
        #expect(left.map(\.endMilliseconds) == [Self.start + 300_000, Self.start + 360_000])
        _ = try await store.retentionStep(
            rawCutoffMilliseconds: Self.start, minuteCutoffMilliseconds: Self.start + 330_000, maxGapMilliseconds: 3000)
        let kept = try await store.backfillParts(node: "a", fromMilliseconds: 0, toMilliseconds: .max)
        #expect(kept.map(\.startMilliseconds) == [Self.start + 300_000])
    }

    @Test("a backfill row out of range is skipped and counted, the rest answered")
    func badRow() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("e.db")
        let store = try EnergyStore(path: path)
        _ = try await Self.fill(store)
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute(
                "UPDATE backfill SET joules = 1e300 WHERE start_ms = \(Self.start + 360_000); "
                    + "UPDATE backfill SET source = 'guess' WHERE start_ms = \(Self.start + 420_000)")
        }
        let figures = try await store.energy(
            node: "a", fromMilliseconds: Self.start, toMilliseconds: Self.start + 1_200_000, maxGapMilliseconds: 3000)
        #expect(abs(figures.backfill.joules - (30 * 181 - 3600)) < 1e-6)
        #expect(store.faults.badRows[.backfill] == 2)
    }

    @Test(
        "a database of an earlier version gets the backfill table, the new view and the node columns; its counters stay",
        arguments: [Int64(2), 3, 4])
    func migration(from version: Int64) async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("e.db")
        var counter = EnergyCounters()
        counter.add(
            Sample(node: "a", timestampMilliseconds: 1000, reading: Reading(watts: 10)), maxGapMilliseconds: 3000)
        counter.add(
            Sample(node: "a", timestampMilliseconds: 2000, reading: Reading(watts: 20)), maxGapMilliseconds: 3000)
        do {
            let store = try EnergyStore(path: path)
            try await store.write(samples: [], counters: ["a": counter])
            store.close()
        }
        do {
            let database = try SQLiteDatabase(path: path)
            try database.downgrade(to: version)
        }
        let store = try EnergyStore(path: path)
        #expect(
            try await store.run { () throws(StoreError) in try store.database.scalarInt("PRAGMA user_version") }
                == Schema.currentVersion)
        let loaded = try await store.loadCounters()
        #expect(loaded["a"]?.energyJoules == 15)
        #expect(loaded["a"]?.minuteStartMilliseconds == nil)
        _ = try await Self.fill(store)
        #expect(try await store.backfillParts(node: "a", fromMilliseconds: 0, toMilliseconds: .max).count == 4)
    }
}

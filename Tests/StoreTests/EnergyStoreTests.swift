import EnergyModel
import Foundation
import Testing
import TestSupport

@testable import Store

/// Runs the `sqlite3` shell, as users do: its output (and errors), trimmed.
func sqlite3(_ database: String, _ sql: String) async throws -> String {
    let result = try await runProcess("/usr/bin/sqlite3", [database, sql])
    return (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
}

let sqlite3Available = FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")

@Suite("SQLite store")
struct EnergyStoreTests {
    @Test("schema version, WAL and incremental auto-vacuum")
    func schema() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        store.close()
        let reopened = try SQLiteDatabase(path: path)
        #expect(try reopened.scalarInt("PRAGMA user_version") == Schema.currentVersion)
        #expect(try reopened.scalarText("PRAGMA journal_mode") == "wal")
        #expect(try reopened.scalarInt("PRAGMA auto_vacuum") == 2)
    }

    @Test("samples round-trip through the fixed-point columns")
    func roundTrip() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/energy.db")
        let samples = [
            Sample(node: "tvpc", timestampMilliseconds: 1_700_000_000_123, reading: Reading(watts: 48.5, volts: 229.9, amps: 0.234, energyWattHours: 7258.589)),
            Sample(node: "tvpc", timestampMilliseconds: 1_700_000_001_120, reading: Reading(watts: 4711.12)),
            Sample(node: "rpi", timestampMilliseconds: 1_700_000_000_130, reading: Reading(watts: 2.35, energyWattHours: 43.866)),
        ]
        try await store.write(samples: samples, counters: [:])
        let tvpc = try await store.samples(node: "tvpc", fromMilliseconds: 0, toMilliseconds: .max)
        #expect(tvpc == Array(samples.prefix(2)))
        let rpi = try await store.samples(node: "rpi", fromMilliseconds: 0, toMilliseconds: .max)
        #expect(rpi == [samples[2]])
        #expect(try await store.samples(node: "wyse", fromMilliseconds: 0, toMilliseconds: .max).isEmpty)
    }

    @Test("counters persist and reload")
    func counters() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        var counter = EnergyCounters()
        counter.add(Sample(node: "wyse", timestampMilliseconds: 1000, reading: Reading(watts: 10, energyWattHours: 5)), maxGapMilliseconds: 3000)
        counter.add(Sample(node: "wyse", timestampMilliseconds: 2000, reading: Reading(watts: 20, energyWattHours: 5.01)), maxGapMilliseconds: 3000)
        #expect(counter.energyJoules == 15)
        do {
            let store = try EnergyStore(path: path)
            try await store.write(samples: [], counters: ["wyse": counter])
            store.close()
        }
        let store = try EnergyStore(path: path)
        let loaded = try await store.loadCounters()
        #expect(loaded["wyse"] == counter)
    }

    @Test("views are readable by the sqlite3 shell while the store is open", .enabled(if: sqlite3Available, "sqlite3 is not installed"))
    func views() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let samples = (0..<10).map {
            Sample(node: "wyse", timestampMilliseconds: now - Int64($0) * 1000, reading: Reading(watts: 10 + Double($0), volts: 230, amps: 0.05))
        }
        try await store.write(samples: samples, counters: [:])
        let output = try await sqlite3(path, "SELECT node, count(*), avg(watts), min(volts) FROM power WHERE ts >= unixepoch('now','-1 hour') GROUP BY node")
        #expect(output == "wyse|10|14.5|230.0")
        let columns = try await sqlite3(path, "SELECT group_concat(name) FROM pragma_table_info('power_minute')")
        // The contract's seven columns first; backfilled energy's marks after them.
        #expect(columns == "node,ts,samples,avg_watts,min_watts,max_watts,joules,backfilled,source,covered_s")
        let powerColumns = try await sqlite3(path, "SELECT group_concat(name) FROM pragma_table_info('power')")
        #expect(powerColumns == "node,ts,watts,volts,amps")
    }

    @Test("a database of a newer schema is refused with a clear message")
    func newerSchema() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute("PRAGMA user_version = 99")
        }
        let error = #expect(throws: StoreError.self) { try EnergyStore(path: path) }
        #expect(error?.message.contains("schema version 99") == true)
    }

    @Test("an unopenable path is a clear error")
    func unopenable() {
        let error = #expect(throws: StoreError.self) { try EnergyStore(path: "/nonexistent-folder/energy.db") }
        #expect(error?.message.hasPrefix("cannot open database /nonexistent-folder/energy.db") == true)
    }
}

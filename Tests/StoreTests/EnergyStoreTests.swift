import EnergyModel
import Foundation
import Testing

@testable import Store

/// A fresh temporary folder per test, removed afterwards.
struct TemporaryFolder: ~Copyable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("store-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs the `sqlite3` shell, as users do.
func sqlite3(_ database: String, _ sql: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    process.arguments = [database, sql]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

let sqlite3Available = FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")

@Suite("SQLite store")
struct EnergyStoreTests {
    @Test("schema version, WAL and incremental auto-vacuum")
    func schema() async throws {
        let folder = try TemporaryFolder()
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
        let folder = try TemporaryFolder()
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
        let folder = try TemporaryFolder()
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
        let folder = try TemporaryFolder()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let samples = (0..<10).map {
            Sample(node: "wyse", timestampMilliseconds: now - Int64($0) * 1000, reading: Reading(watts: 10 + Double($0), volts: 230, amps: 0.05))
        }
        try await store.write(samples: samples, counters: [:])
        let output = try sqlite3(path, "SELECT node, count(*), avg(watts), min(volts) FROM power WHERE ts >= unixepoch('now','-1 hour') GROUP BY node")
        #expect(output == "wyse|10|14.5|230.0")
        let columns = try sqlite3(path, "SELECT group_concat(name) FROM pragma_table_info('power_minute')")
        #expect(columns == "node,ts,samples,avg_watts,min_watts,max_watts,joules")
        let powerColumns = try sqlite3(path, "SELECT group_concat(name) FROM pragma_table_info('power')")
        #expect(powerColumns == "node,ts,watts,volts,amps")
    }

    @Test("a database of a newer schema is refused with a clear message")
    func newerSchema() throws {
        let folder = try TemporaryFolder()
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

@Suite("Energy counters")
struct EnergyCountersTests {
    @Test("trapezoids between close samples; gaps longer than 3 intervals are not bridged")
    func integration() {
        var counter = EnergyCounters()
        let watts: [(Int64, Double)] = [(0, 10), (1000, 20), (2000, 20), (10_000, 50), (11_000, 50)]
        for (t, w) in watts {
            counter.add(Sample(node: "n", timestampMilliseconds: t, reading: Reading(watts: w)), maxGapMilliseconds: 3000)
        }
        // 15 + 20 + (gap of 8 s not bridged) + 50
        #expect(counter.energyJoules == 85)
    }

    @Test("a device counter reset is a new baseline, never a negative step")
    func deviceReboot() {
        var counter = EnergyCounters()
        let totals: [Double] = [100, 100.5, 101, 0.2, 0.7]
        var previous = 0.0
        for (index, wh) in totals.enumerated() {
            counter.add(Sample(node: "n", timestampMilliseconds: Int64(index) * 1000, reading: Reading(watts: 1, energyWattHours: wh)), maxGapMilliseconds: 3000)
            #expect(counter.deviceJoules >= previous)
            previous = counter.deviceJoules
        }
        // 100 Wh at first sight, +1 Wh, then 0.2 Wh since the reboot, +0.5 Wh.
        #expect(abs(counter.deviceJoules - (100 + 1 + 0.2 + 0.5) * 3600) < 1e-6)
    }

    @Test("old or repeated samples are ignored")
    func ordering() {
        var counter = EnergyCounters()
        counter.add(Sample(node: "n", timestampMilliseconds: 2000, reading: Reading(watts: 10)), maxGapMilliseconds: 3000)
        #expect(counter.add(Sample(node: "n", timestampMilliseconds: 2000, reading: Reading(watts: 99)), maxGapMilliseconds: 3000) == 0)
        #expect(counter.add(Sample(node: "n", timestampMilliseconds: 1000, reading: Reading(watts: 99)), maxGapMilliseconds: 3000) == 0)
        #expect(counter.lastWatts == 10)
    }
}

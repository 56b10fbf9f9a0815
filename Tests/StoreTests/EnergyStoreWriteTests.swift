import EnergyModel
import Foundation
import Testing
import TestSupport

@testable import Store

@Suite("SQLite store: the tick write path")
struct EnergyStoreWriteTests {
    @Test("sample counts cover every node in a half-open window")
    func sampleCount() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/energy.db")
        let samples = (0..<10).flatMap { second in
            ["a", "b", "c"].map { Sample(node: $0, timestampMilliseconds: 1_000_000 + Int64(second) * 1000, reading: Reading(watts: 5)) }
        }
        try await store.write(samples: samples, counters: [:])
        #expect(try await store.sampleCount(fromMilliseconds: 1_000_000, toMilliseconds: 1_010_000) == 30)
        #expect(try await store.sampleCount(fromMilliseconds: 1_002_000, toMilliseconds: 1_005_000) == 9)
        #expect(try await store.sampleCount(fromMilliseconds: 0, toMilliseconds: 1_000_000) == 0)
    }

    @Test(
        "a tick rewrites only the counters that moved since the last commit",
        .enabled(if: sqlite3Available, "sqlite3 is not installed")
    )
    func onlyMovedCounters() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let a = EnergyCounters(energyJoules: 10, deviceJoules: 20, lastTimestampMilliseconds: 1000, lastWatts: 5)
        var b = EnergyCounters(energyJoules: 30, deviceJoules: 40, lastTimestampMilliseconds: 1000, lastWatts: 7)
        try await store.write(samples: [], counters: ["a": a, "b": b])
        // Marks both rows behind the store's back: an unchanged counter must not be rewritten.
        _ = try await sqlite3(path, "UPDATE node SET energy_joules = 12345")
        b.energyJoules = 31
        try await store.write(samples: [], counters: ["a": a, "b": b])
        let loaded = try await store.loadCounters()
        #expect(loaded["a"]?.energyJoules == 12345)
        #expect(loaded["b"] == b)
    }

    @Test(
        "a tick that fails forgets the nodes it inserted, so the next tick stores them again",
        .enabled(if: sqlite3Available, "sqlite3 is not installed")
    )
    func failedTickForgetsNewNodes() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        _ = try await sqlite3(
            path, "CREATE TRIGGER refuse BEFORE INSERT ON recent WHEN NEW.mw_base < 0 BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        let counter = EnergyCounters(energyJoules: 1, deviceJoules: 0, lastTimestampMilliseconds: 1000, lastWatts: -1)
        await #expect(throws: StoreError.self) {
            try await store.write(
                samples: [Sample(node: "new", timestampMilliseconds: 1000, reading: Reading(watts: -1))], counters: ["new": counter]
            )
        }
        _ = try await sqlite3(path, "DROP TRIGGER refuse")
        let sample = Sample(node: "new", timestampMilliseconds: 2000, reading: Reading(watts: 3))
        try await store.write(samples: [sample], counters: ["new": counter])
        #expect(try await store.samples(node: "new", fromMilliseconds: 0, toMilliseconds: .max) == [sample])
        #expect(try await store.loadCounters()["new"] == counter)
        await #expect(try sqlite3(path, "SELECT node, watts FROM power") == "new|3.0")
    }
}

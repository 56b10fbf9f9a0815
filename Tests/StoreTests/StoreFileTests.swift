import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

#if canImport(Glibc)
    import Glibc
#endif

/// The store notices its files vanishing or being replaced under the open connections, and
/// recovers without losing a committed row.
@Suite("SQLite store: vanished and replaced files", .serialized)
struct StoreFileTests {
    /// Writes `count` one-sample ticks of node `n` from second `from`.
    static func write(_ store: EnergyStore, from: Int, count: Int) async throws {
        for second in from..<(from + count) {
            try await store.write(
                samples: [
                    Sample(
                        node: "n", timestampMilliseconds: 1_700_000_000_000 + Int64(second) * 1000,
                        reading: Reading(watts: 5))
                ],
                counters: ["n": EnergyCounters(energyJoules: Double(second))])
        }
    }

    static func count(_ store: EnergyStore) async throws -> Int {
        try await store.sampleCount(fromMilliseconds: Int64.min, toMilliseconds: Int64.max)
    }

    @Test(
        "the write-ahead log deleted under the open store: the next tick moves it into the database and reopens; nothing is lost"
    )
    func vanishedLog() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        // 200 ticks, never checkpointed: they live only in the log.
        try await Self.write(store, from: 0, count: 200)
        #expect(try await Self.count(store) == 200)
        #expect(unlink(path + "-wal") == 0)
        try await Self.write(store, from: 200, count: 1)
        #expect(store.faults.fileChanges[.wal] == 1)
        let fault = try #require(store.faults.fileFault)
        #expect(fault.contains("write-ahead log") && !fault.contains(folder.path), "\(fault)")
        #expect(FileManager.default.fileExists(atPath: path + "-wal"), "a new log at the path")
        #expect(try await Self.count(store) == 201)
        let other = try EnergyStore(path: path, readOnly: true)
        #expect(try await Self.count(other) == 201, "another connection sees every commit")
        other.close()
        // Ready again once the files stayed put for a few ticks.
        try await Self.write(store, from: 201, count: EnergyStore.settleChecks)
        #expect(store.faults.fileFault == nil)
        #expect(store.faults.fileChanges[.wal] == 1, "counted once")
        // The database file alone (a copy without the log, as after a crash) holds every row
        // committed before the log vanished.
        try FileManager.default.copyItem(atPath: path, toPath: folder.path + "/copy.db")
        let copy = try EnergyStore(path: folder.path + "/copy.db")
        #expect(try await Self.count(copy) >= 200)
        copy.close()
        store.close()
        if sqlite3Available { #expect(try await sqlite3(path, "PRAGMA integrity_check") == "ok") }
    }

    @Test("the database file replaced under the open store: the open one is saved beside it, the new one is used")
    func replacedDatabase() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        try await Self.write(store, from: 0, count: 50)
        // Another energy-monitor database takes its place.
        let other = try EnergyStore(path: folder.path + "/other.db")
        try await other.write(
            samples: [Sample(node: "m", timestampMilliseconds: 1_700_000_000_000, reading: Reading(watts: 1))],
            counters: [:])
        try await other.checkpoint()
        other.close()
        #expect(rename(folder.path + "/other.db", path) == 0)
        try await Self.write(store, from: 50, count: 1)
        #expect(store.faults.fileChanges[.database] == 1)
        let saved = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasPrefix("energy.db.replaced-")
        }
        try #require(saved.count == 1, "\(saved)")
        let copy = try EnergyStore(path: folder.path + "/" + saved[0])
        #expect(try await Self.count(copy) == 50, "every committed row saved")
        copy.close()
        #expect(try await store.nodes() == ["m", "n"])
        #expect(try await Self.count(store) == 2)
        // The log at the path is the reopened connection's: another connection sees its commits.
        try await Self.write(store, from: 51, count: 2)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        let second = try EnergyStore(path: path, readOnly: true)
        #expect(try await Self.count(second) == 4)
        second.close()
        #expect(
            store.faults.fileChanges[.wal] == nil && store.faults.fileChanges[.shm] == nil,
            "\(store.faults.fileChanges)")
        store.close()
    }

    @Test("a file that is not a database put in its place: not ready until a usable file is there again")
    func garbageDatabase() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        try await Self.write(store, from: 0, count: 20)
        try Data(repeating: 0x41, count: 10_000).write(to: URL(fileURLWithPath: folder.path + "/garbage"))
        #expect(rename(folder.path + "/garbage", path) == 0)
        for second in 20..<23 {
            await #expect(throws: StoreError.self) { try await Self.write(store, from: second, count: 1) }
            #expect(store.faults.fileFault != nil)
        }
        #expect(store.faults.fileChanges[.database] == 1, "counted once, not once a tick")
        await #expect(throws: StoreError.self) { _ = try await store.nodes() }
        #expect(unlink(path) == 0)
        try await Self.write(store, from: 23, count: 1 + EnergyStore.settleChecks)
        #expect(store.faults.fileFault == nil)
        #expect(try await Self.count(store) == 1 + EnergyStore.settleChecks)
        store.close()
    }

    @Test("the check costs a few microseconds a tick")
    func checkCost() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        try await Self.write(store, from: 0, count: 2)
        var watch = StoreFileWatch(path: path)
        watch.record()
        let rounds = 20_000
        let clock = ContinuousClock()
        var changes = 0
        let elapsed = clock.measure {
            for _ in 0..<rounds { changes += watch.changes().count }
        }
        #expect(changes == 0)
        let nanoseconds = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
        print(
            String(
                format: "store file check: %.1f µs per tick (%d checks)", nanoseconds / Double(rounds) / 1000, rounds))
        store.close()
    }
}

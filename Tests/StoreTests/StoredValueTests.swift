import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

/// What is read back from the store is input too: rows whose values were set to extremes
/// behind the store's back are skipped (or, for a node's counters, repaired), counted once and
/// logged once; every read answers, and nothing traps.
@Suite("SQLite store: stored values out of range", .enabled(if: sqlite3Available, "sqlite3 is not installed"))
struct StoredValueTests {
    /// A minute-aligned start, well in the past.
    static let start: Int64 = 1_700_000_040_000

    /// Writes `minutes` of history at 10 s for `nodes` (power, voltage, current, counter),
    /// then 200 ticks of one more minute at 250 ms (left in `recent`), and folds the first
    /// `fold` minutes into minute rows.
    static func history(_ store: EnergyStore, nodes: [String], minutes: Int, fold: Int) async throws {
        try await store.setInterval(milliseconds: 10_000)
        func tick(_ t: Int64) -> [Sample] {
            nodes.enumerated().map { index, node in
                Sample(
                    node: node, timestampMilliseconds: t,
                    reading: Reading(
                        watts: 100 + Double(index) + Double((t / 10_000) % 5), volts: 230, amps: 0.5,
                        energyWattHours: 1000 + Double(t - start) / 36_000_000))
            }
        }
        for step in 0..<(minutes * 6) {
            try await store.write(samples: tick(start + Int64(step) * 10_000), counters: [:])
        }
        let last = start + Int64(minutes) * 60_000
        for step in 0..<200 { try await store.write(samples: tick(last + Int64(step) * 250), counters: [:]) }
        if fold > 0 {
            while try await store.retentionStep(
                rawCutoffMilliseconds: start + Int64(fold) * 60_000, minuteCutoffMilliseconds: 0,
                maxGapMilliseconds: 30_000
            ).moreToDo {}
        }
    }

    /// `node -> keys` of `table` (`key` column), oldest first.
    static func keys(_ path: String, _ table: String, _ key: String, nodes: [String]) async throws -> [(
        node: String, starts: [Int64]
    )] {
        var result: [(node: String, starts: [Int64])] = []
        for node in nodes {
            let text = try await sqlite3(
                path,
                "SELECT \(key) FROM \(table) WHERE node_id = (SELECT id FROM node WHERE name = '\(node)') "
                    + "ORDER BY \(key)"
            )
            result.append((node, text.split(separator: "\n").compactMap { Int64($0) }))
        }
        return result
    }

    /// Runs `updates` with the `sqlite3` shell (a failing one, a constraint, does not stop the rest).
    static func apply(_ updates: [String], to path: String, in folder: TemporaryDirectory) async throws {
        let script = folder.path + "/flips.sql"
        try updates.joined(separator: "\n").write(toFile: script, atomically: true, encoding: .utf8)
        _ = try await runProcess("/usr/bin/sqlite3", [path, ".read \(script)"])
        #expect(try await sqlite3(path, "PRAGMA integrity_check") == "ok")
    }

    @Test(
        "every column of chunk, recent, chunk_minute and minute rows at an extreme: skipped, counted once, every read answers"
    )
    func packedAndMinuteRows() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        // a and b take the flips, c is the control.
        try await Self.history(store, nodes: ["a", "b", "c"], minutes: 150, fold: 60)
        let flipped = ["a", "b"]
        let chunks = try await Self.keys(path, "chunk", "start_ms", nodes: flipped)
        let sums = try await Self.keys(path, "chunk_minute", "minute", nodes: flipped)
        let minutes = try await Self.keys(path, "minute", "minute", nodes: flipped)
        let recent = try await sqlite3(path, "SELECT id FROM recent ORDER BY id").split(separator: "\n").compactMap {
            Int64($0)
        }
        #expect(
            chunks.map(\.starts.count).reduce(0, +) >= StoredValueFlips.chunkCases.count,
            "chunks: \(chunks.map(\.starts.count))")
        #expect(recent.count >= StoredValueFlips.recentCases.count, "recent rows: \(recent.count)")
        // The control's window ends before the minute in `recent`, whose rows hold every node.
        let controlEnd = Self.start + 149 * 60_000
        let controlBefore = try await store.energy(
            node: "c", fromMilliseconds: Self.start, toMilliseconds: controlEnd, maxGapMilliseconds: 30_000)
        try await Self.apply(
            StoredValueFlips.chunkUpdates(keys: chunks) + StoredValueFlips.chunkMinuteUpdates(keys: sums)
                + StoredValueFlips.minuteUpdates(keys: minutes) + StoredValueFlips.recentUpdates(ids: recent),
            to: path, in: folder
        )

        // Every read of the store answers.
        let end = Self.start + 151 * 60_000
        for node in ["a", "b", "c"] {
            _ = try await store.samples(node: node, fromMilliseconds: Int64.min, toMilliseconds: Int64.max)
            for step: Int64 in [1_000, 10_000, 60_000, 600_000, 3_600_000] {
                let series = try await store.powerSeries(
                    node: node, fromMilliseconds: Self.start - 60_000, toMilliseconds: end, stepMilliseconds: step)
                #expect(series.allSatisfy { $0.averageWatts.isFinite && $0.samples > 0 }, "\(node) step \(step)")
                #expect(!series.isEmpty, "\(node) step \(step): nothing served")
            }
            let energy = try await store.energy(
                node: node, fromMilliseconds: Self.start - 60_000, toMilliseconds: end, maxGapMilliseconds: 30_000)
            #expect(energy.energy.joules.isFinite && energy.energy.joules > 0, "\(node): \(energy)")
            #expect(try await store.latestSample(node: node) != nil)
        }
        _ = try await store.sampleCount(fromMilliseconds: Int64.min, toMilliseconds: Int64.max)
        _ = try await store.loadCounters()
        // The control node's answer is the same as before.
        let controlAfter = try await store.energy(
            node: "c", fromMilliseconds: Self.start, toMilliseconds: controlEnd, maxGapMilliseconds: 30_000)
        #expect(controlAfter == controlBefore)

        let counted = store.faults.badRows
        for table in [StoreFaults.Table.chunk, .recent, .chunkMinute, .minute] {
            #expect((counted[table] ?? 0) > 0, "\(table): \(counted)")
        }
        // Read again: the same bad rows count once.
        for node in ["a", "b"] {
            _ = try await store.powerSeries(
                node: node, fromMilliseconds: Self.start - 60_000, toMilliseconds: end, stepMilliseconds: 1_000)
            _ = try await store.energy(
                node: node, fromMilliseconds: Self.start - 60_000, toMilliseconds: end, maxGapMilliseconds: 30_000)
        }
        #expect(store.faults.badRows == counted)

        // The writer packs the bad recent rows away (skipped) and retention folds past bad chunks.
        try await store.write(
            samples: [Sample(node: "c", timestampMilliseconds: end + 120_000, reading: Reading(watts: 1))],
            counters: [:])
        while try await store.retentionStep(
            rawCutoffMilliseconds: Self.start + 140 * 60_000, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 30_000
        ).moreToDo {}
        for node in ["a", "b", "c"] {
            let energy = try await store.energy(
                node: node, fromMilliseconds: Self.start - 60_000, toMilliseconds: end, maxGapMilliseconds: 30_000)
            #expect(energy.energy.joules.isFinite)
        }
        store.close()
        print(
            "stored values out of range: bad rows counted "
                + "\(store.faults.badRows.map { "\($0.key.rawValue)=\($0.value)" }.sorted())"
        )
    }

    @Test("the chunk from the report (mw_scale = 2^62) is skipped, not a trap at decoding")
    func reportedScale() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        try await Self.history(store, nodes: ["sim-0"], minutes: 3, fold: 0)
        _ = try await sqlite3(
            path, "UPDATE chunk SET mw_scale = 4611686018427387904 WHERE start_ms = \(Self.start + 60_000)")
        let series = try await store.powerSeries(
            node: "sim-0", fromMilliseconds: Self.start, toMilliseconds: Self.start + 240_000, stepMilliseconds: 1_000)
        // The other minutes are served; the flipped one is missing.
        #expect(!series.isEmpty)
        #expect(!series.contains { (Self.start + 60_000..<Self.start + 120_000).contains($0.startMilliseconds) })
        #expect(store.faults.badRows[.chunk] == 1)
    }

    @Test(
        "a node's counters out of range are repaired at load: finite, in range, the device counter from a new baseline")
    func nodeCounters() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let cases = StoredValueFlips.nodeCases
        var counters: [String: EnergyCounters] = [:]
        for index in cases.indices {
            counters["n\(index)"] = EnergyCounters(
                energyJoules: 10, deviceJoules: 20, lastTimestampMilliseconds: Self.start, lastWatts: 5,
                lastDeviceWattHours: 3)
        }
        try await store.write(samples: [], counters: counters)
        store.close()
        let updates = cases.enumerated().map { index, flip in
            "UPDATE node SET \(flip.column) = \(flip.value) WHERE name = 'n\(index)';"
        }
        try await Self.apply(updates, to: path, in: folder)
        let reopened = try EnergyStore(path: path)
        defer { reopened.close() }
        let loaded = try await reopened.loadCounters()
        #expect(loaded.count == cases.count)
        for (name, counter) in loaded {
            #expect(
                counter.energyJoules.isFinite && counter.energyJoules >= 0
                    && counter.energyJoules <= EnergyCounters.plausibleJoulesLimit, "\(name)")
            #expect(
                counter.deviceJoules.isFinite && counter.deviceJoules >= 0
                    && counter.deviceJoules <= EnergyCounters.plausibleJoulesLimit, "\(name)")
            #expect(counter.lastWatts.map { $0.isFinite && abs($0) <= 1e6 } ?? true, "\(name)")
            #expect(counter.lastDeviceWattHours.map { $0.isFinite && $0 >= 0 } ?? true, "\(name)")
            #expect(counter.lastTimestampMilliseconds.map { StoredSample.times.contains($0) } ?? true, "\(name)")
        }
        let infinite = try #require(cases.firstIndex { $0.column == "device_joules" && $0.value == "1e999" })
        #expect(loaded["n\(infinite)"]?.deviceJoules == 0)
        #expect(loaded["n\(infinite)"]?.lastDeviceWattHours == nil, "the device counter starts from a new baseline")
        #expect((reopened.faults.badRows[.node] ?? 0) >= 10, "\(reopened.faults.badRows)")
        // The repaired counters are written back with the next tick.
        try await reopened.write(samples: [], counters: loaded)
        #expect(
            try await sqlite3(
                path,
                "SELECT count(*) FROM node WHERE device_joules > 1e15 OR energy_joules > 1e15 "
                    + "OR typeof(device_joules) <> 'real'"
            ) == "0")
    }

    @Test("meta values out of range read as absent: every read and write goes on")
    func metaValues() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        try await Self.history(store, nodes: ["a"], minutes: 5, fold: 2)
        store.close()
        for (index, flip) in StoredValueFlips.metaCases.enumerated() {
            _ = try await sqlite3(
                path, "INSERT OR REPLACE INTO meta (key, value) VALUES ('\(flip.key)', \(flip.value))")
            let store = try EnergyStore(path: path)
            let t = Self.start + 10 * 60_000 + Int64(index) * 1000
            try await store.write(
                samples: [Sample(node: "a", timestampMilliseconds: t, reading: Reading(watts: 3))], counters: [:])
            _ = try await store.interval()
            _ = try await store.foldedUntil()
            _ = try await store.powerSeries(
                node: "a", fromMilliseconds: Self.start, toMilliseconds: t, stepMilliseconds: 60_000)
            _ = try await store.energy(
                node: "a", fromMilliseconds: Self.start, toMilliseconds: t, maxGapMilliseconds: 30_000)
            _ = try await store.retentionStep(
                rawCutoffMilliseconds: t - 60_000, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 30_000)
            store.close()
        }
    }

    @Test("decoding checks a row's shape and every value: a bad row throws, a good one decodes as packed")
    func decoding() throws {
        let samples = (0..<60).map {
            StoredSample(
                timestampMilliseconds: Self.start + Int64($0) * 1000, milliwatts: 100_000 + Int64($0),
                centivolts: 23_000, milliamps: 500, deviceMilliwattHours: 7)
        }
        let chunk = try #require(SampleChunk.pack(samples[...], stepMilliseconds: 1000).first)
        #expect(try chunk.decoded() == samples)
        var mutations: [(String, (inout SampleChunk) -> Void)] = [
            ("count 0", { $0.count = 0 }), ("count -1", { $0.count = -1 }), ("count 2^62", { $0.count = 1 << 62 }),
            ("start max", { $0.startMilliseconds = .max }), ("start min", { $0.startMilliseconds = .min }),
            ("step max", { $0.stepMilliseconds = .max }), ("step -1", { $0.stepMilliseconds = -1 }),
            ("data short", { $0.data.removeLast() }), ("data long", { $0.data.append(1) }),
            ("data empty", { $0.data = [] }),
        ]
        for field in chunk.fields.indices {
            mutations += [
                ("field \(field) base max", { $0.fields[field].base = .max }),
                ("field \(field) base min", { $0.fields[field].base = .min }),
                ("field \(field) scale 2^62", { $0.fields[field].scale = 1 << 62 }),
                ("field \(field) scale 0", { $0.fields[field].scale = 0 }),
                ("field \(field) width 2", { $0.fields[field].width = 2 }),
                ("field \(field) width -1", { $0.fields[field].width = -1 }),
                ("field \(field) width 1<<40", { $0.fields[field].width = 1 << 40 }),
            ]
        }
        var refused = 0
        for (label, mutate) in mutations {
            var bad = chunk
            mutate(&bad)
            do {
                let decoded = try bad.decoded()
                // What decodes is within every range a sample has.
                #expect(
                    decoded.allSatisfy {
                        StoredSample.times.contains($0.timestampMilliseconds)
                            && StoredSample.milliwattRange.contains($0.milliwatts)
                    }, "\(label)")
            } catch {
                refused += 1
            }
        }
        #expect(refused >= mutations.count / 2, "\(refused) of \(mutations.count) refused")
        // Bytes that are not the encoding of their width.
        var garbled = chunk
        garbled.data = [UInt8](repeating: 0xFF, count: chunk.data.count)
        #expect(throws: StoredRowDefect.self) { try garbled.decoded() }
    }
}

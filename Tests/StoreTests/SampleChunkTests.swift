import EnergyModel
import Foundation
import Logging
import TestSupport
import Testing

@testable import Store

@Suite("Packed sample chunks")
struct SampleChunkTests {
    /// A node at 1 Hz with jitter, Gen2 resolution, a counter that grows.
    private func regular(seconds: Int, start: Int64 = 1_700_000_040_000) -> [StoredSample] {
        (0..<seconds).map { second in
            let watts = 48.5 + 30 * sin(Double(second) / 40)
            return StoredSample(
                timestampMilliseconds: start + Int64(second) * 1000 + Int64(second * 37 % 41),
                milliwatts: Int64((watts * 10).rounded()) * 100,
                centivolts: 23_010 + Int64(second % 5) * 10,
                milliamps: Int64((watts / 230 * 1000).rounded()),
                deviceMilliwattHours: 7_000_000 + Int64(second) * 13
            )
        }
    }

    @Test("every sample comes back exactly, whatever the series does", arguments: 0..<40)
    func roundTrip(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &* 7919)
        var samples: [StoredSample] = []
        var time: Int64 = 1_700_000_000_000 + Int64.random(in: 0..<60_000, using: &random)
        var counter: Int64 = Int64.random(in: 0..<100_000_000, using: &random)
        let step = [100, 1000, 1000, 5000][seed % 4]
        var withVolts = Bool.random(using: &random)
        for _ in 0..<Int.random(in: 1..<700, using: &random) {
            // Jitter, sometimes a gap, rarely a jump back in the device counter or in power.
            time += Int64(step) + Int64.random(in: -40...40, using: &random) + (Int.random(in: 0..<20, using: &random) == 0 ? 7 * Int64(step) : 0)
            if Int.random(in: 0..<50, using: &random) == 0 { withVolts.toggle() }
            counter = Int.random(in: 0..<80, using: &random) == 0 ? Int64.random(in: 0..<10, using: &random) : counter + Int64.random(in: 0..<3000, using: &random)
            let power: Int64 = Int.random(in: 0..<30, using: &random) == 0
                ? Int64.random(in: 0...180_000_000, using: &random) : Int64.random(in: 2_000...200_000, using: &random)
            samples.append(
                StoredSample(
                    timestampMilliseconds: time, milliwatts: power,
                    centivolts: withVolts ? Int64.random(in: 22_000...24_000, using: &random) : nil,
                    milliamps: withVolts ? Int64.random(in: 0...16_000, using: &random) : nil,
                    deviceMilliwattHours: seed % 5 == 0 ? nil : counter
                )
            )
        }
        let chunks = SampleChunk.pack(samples[...], stepMilliseconds: Int64(step))
        #expect(try chunks.flatMap { try $0.samples() } == samples)
        #expect(chunks.reduce(0) { $0 + $1.count } == samples.count)
        for chunk in chunks {
            #expect(chunk.count <= SampleChunk.Layout.nodeMinute.maxSamples)
            #expect(chunk.data.count <= SampleChunk.Layout.nodeMinute.maxDataBytes)
            #expect(chunk.data.count == chunk.count * chunk.stride)
            // Every code is valid UTF-8, as the views' unicode() needs.
            #expect(String(validating: chunk.data, as: UTF8.self) != nil)
        }
    }

    @Test("a regular 1 Hz minute costs a few bytes per sample")
    func compact() throws {
        let minute = regular(seconds: 60)
        let chunks = SampleChunk.pack(minute[...], stepMilliseconds: 1000)
        let chunk = try #require(chunks.first)
        #expect(chunks.count == 1)
        // Time jitter 1, power 1 or 3 (0.1 W steps), volts 1, amps 1 or 3, counter 1 byte.
        #expect(chunk.stride <= 9, "\(chunk.fields)")
        #expect(chunk.fields[1].scale == 100)
        #expect(chunk.fields[2].scale == 10)
        #expect(chunk.fields[4].width == 1)
    }

    @Test("constant and absent fields take no bytes")
    func constantFields() throws {
        let samples = (0..<30).map {
            StoredSample(timestampMilliseconds: 1_000_000 + Int64($0) * 1000, milliwatts: 5000, centivolts: nil, milliamps: nil, deviceMilliwattHours: nil)
        }
        let chunk = try #require(SampleChunk.pack(samples[...], stepMilliseconds: 1000).first)
        #expect(chunk.stride == 0)
        #expect(chunk.data.isEmpty)
        #expect(try chunk.samples() == samples)
    }

    @Test("code widths hold exactly their ranges", arguments: [(126, 1), (127, 3), (53_247, 3), (53_248, 4), (1_048_575, 4)])
    func widths(largest: Int64, width: Int) {
        #expect(PackedCode.width(for: largest) == width)
        var data: [UInt8] = []
        PackedCode.append(largest, width: width, to: &data)
        #expect(data.count == width)
        #expect(data.withUnsafeBufferPointer { PackedCode.read($0, at: 0, width: width) } == largest)
        #expect(PackedCode.width(for: 1_048_576) == nil)
    }
}

@Suite("SQLite store: packed minutes")
struct PackedStoreTests {
    private func samples(node: String, start: Int64, seconds: Int, volts: Bool = true) -> [Sample] {
        (0..<seconds).map { (second: Int) -> Sample in
            let time: Int64 = start + Int64(second) * 1000 + Int64(second * 13 % 29)
            let spike: Double = second % 50 == 49 ? 1500 : 0
            let watts: Double = 20 + Double(second % 17) * 1.1 + spike
            let counter: Double = second == 70 ? 0 : 1000 + Double(second) * 0.006
            let reading = Reading(
                watts: watts,
                volts: volts ? 229.5 + Double(second % 3) / 10 : nil,
                amps: volts ? 0.1 + Double(second % 7) / 1000 : nil,
                energyWattHours: counter
            )
            // As stored: in the store's fixed-point resolution.
            return StoredSample(Sample(node: node, timestampMilliseconds: time, reading: reading)).sample(node: node)
        }
    }

    private func write(_ store: EnergyStore, _ samples: [Sample]) async throws {
        let ticks = Dictionary(grouping: samples) { $0.timestampMilliseconds / 1000 }
        for tick in ticks.keys.sorted() { try await store.write(samples: ticks[tick]!, counters: [:]) }
    }

    @Test("completed minutes are packed; the Swift reader and the sqlite3 views see the same samples", .enabled(if: sqlite3Available, "sqlite3 is not installed"))
    func packedAndViews() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let start: Int64 = 1_700_000_040_000  // a minute boundary
        let data = samples(node: "tvpc", start: start, seconds: 200) + samples(node: "rpi", start: start + 500, seconds: 200, volts: false)
        try await write(store, data)
        // Three whole minutes are packed, the fourth is still rows.
        let database = try SQLiteDatabase(path: path)
        #expect(try database.scalarInt("SELECT count(DISTINCT start_ms / 60000) FROM chunk") == 3)
        #expect(try database.scalarInt("SELECT sum(samples) FROM recent") == 2 * 20)
        for node in ["tvpc", "rpi"] {
            let expected = data.filter { $0.node == node }
            #expect(try await store.samples(node: node, fromMilliseconds: 0, toMilliseconds: .max) == expected)
            let view = try await sqlite3(path, "SELECT ts, watts, coalesce(volts, '-'), coalesce(amps, '-') FROM power WHERE node = '\(node)' ORDER BY ts")
            let lines = expected.map { sample in
                let reading = sample.reading
                return "\(sqliteReal(sample.timestampSeconds))|\(sqliteReal(reading.watts))|\(reading.volts.map(sqliteReal) ?? "-")|\(reading.amps.map(sqliteReal) ?? "-")"
            }
            #expect(view.split(separator: "\n").map(String.init) == lines)
        }
        let counters = try await sqlite3(
            path, "SELECT group_concat(device_mwh) FROM (SELECT device_mwh FROM readings JOIN node ON node.id = readings.node_id WHERE node.name = 'rpi' ORDER BY ts_ms)"
        )
        #expect(counters == data.filter { $0.node == "rpi" }.map { String(Int64(($0.reading.energyWattHours! * 1000).rounded())) }.joined(separator: ","))
        // The example of the documentation works on packed data too.
        let example = try await sqlite3(path, "SELECT node, count(*) FROM power WHERE ts >= \(start / 1000 + 60) GROUP BY node ORDER BY node")
        #expect(example == "rpi|140\ntvpc|140")
        #expect(try await store.sampleCount(fromMilliseconds: start + 30_000, toMilliseconds: start + 150_000) == 240)
        let latest = try await store.latestSample(node: "rpi")
        #expect(latest == data.last { $0.node == "rpi" })
    }

    @Test("a backlog of many ticks in one write (after a store outage) is stored and packed like single ticks")
    func backlog() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let start: Int64 = 1_700_000_040_000
        let data = samples(node: "tvpc", start: start, seconds: 300) + samples(node: "rpi", start: start, seconds: 300, volts: false)
        try await store.write(samples: data, counters: [:])
        for node in ["tvpc", "rpi"] {
            #expect(try await store.samples(node: node, fromMilliseconds: 0, toMilliseconds: .max) == data.filter { $0.node == node })
        }
        // Four whole minutes packed, the fifth still recent.
        let database = try SQLiteDatabase(path: path)
        #expect(try database.scalarInt("SELECT sum(samples) FROM chunk") == 2 * 240)
        #expect(try database.scalarInt("SELECT sum(samples) FROM recent") == 2 * 60)
        #expect(try database.scalarInt("SELECT count(*) FROM readings") == 600)
    }

    @Test("minutes that cannot be packed stay readable, the failure is logged once, packing resumes")
    func packFailure() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let recorder = LogRecorder()
        let store = try EnergyStore(path: path, logger: Logger(label: "test") { _ in recorder })
        // Another connection makes every chunk insert fail, as a broken disk page would.
        let other = try SQLiteDatabase(path: path)
        try other.execute("CREATE TRIGGER refuse BEFORE INSERT ON chunk BEGIN SELECT RAISE(ABORT, 'chunk refused'); END")
        let start: Int64 = 1_700_000_040_000
        let data = samples(node: "tvpc", start: start, seconds: 150)
        for sample in data { try await store.write(samples: [sample], counters: [:]) }
        #expect(try await store.samples(node: "tvpc", fromMilliseconds: 0, toMilliseconds: .max) == data)
        #expect(try other.scalarInt("SELECT count(*) FROM chunk") == 0)
        let errors = recorder.entries.filter { $0.level == .error }
        #expect(errors.count == 1, "\(errors.map(\.message))")
        #expect(errors.first?.metadata["error"]?.contains("chunk refused") == true)

        try other.execute("DROP TRIGGER refuse")
        let next = samples(node: "tvpc", start: start + 180_000, seconds: 1)
        try await store.write(samples: next, counters: [:])
        #expect(try other.scalarInt("SELECT sum(samples) FROM chunk") == 150)
        #expect(recorder.entries.contains { $0.level == .info && $0.message.contains("works again") })
        #expect(try await store.samples(node: "tvpc", fromMilliseconds: 0, toMilliseconds: .max) == data + next)
    }

    @Test("a version-1 database is migrated: every sample kept, packed, readable")
    func migration() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let start: Int64 = 1_700_000_040_000
        let data = samples(node: "wyse", start: start, seconds: 150)
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute("PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL")
            try database.execute(Schema.version1)
            try database.execute("INSERT INTO node (id, name, energy_joules) VALUES (1, 'wyse', 42.5); PRAGMA user_version = 1")
            let insert = try database.prepare("INSERT INTO sample VALUES (1, ?, ?, ?, ?, ?)")
            for sample in data {
                let stored = StoredSample(sample)
                insert.reset()
                insert.bind(1, stored.timestampMilliseconds)
                insert.bind(2, stored.milliwatts)
                insert.bind(3, stored.centivolts)
                insert.bind(4, stored.milliamps)
                insert.bind(5, stored.deviceMilliwattHours)
                try insert.step()
            }
        }
        let store = try EnergyStore(path: path)
        #expect(try await store.samples(node: "wyse", fromMilliseconds: 0, toMilliseconds: .max) == data)
        #expect(try await store.loadCounters()["wyse"]?.energyJoules == 42.5)
        let database = try SQLiteDatabase(path: path)
        #expect(try database.scalarInt("PRAGMA user_version") == Schema.currentVersion)
        #expect(try database.scalarInt("SELECT count(*) FROM recent") == 0)
        #expect(try database.scalarInt("SELECT sum(samples) FROM chunk") == 150)
        #expect(try database.scalarInt("PRAGMA freelist_count") == 0)
        // New ticks after the migration continue the series.
        let next = Sample(node: "wyse", timestampMilliseconds: start + 200_000, reading: Reading(watts: 3))
        try await store.write(samples: [next], counters: [:])
        #expect(try await store.samples(node: "wyse", fromMilliseconds: 0, toMilliseconds: .max) == data + [next])
    }

    @Test("packed samples take at most 16 bytes each on disk")
    func bytesPerSample() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        let start: Int64 = 1_700_000_040_000
        func size() async throws -> Int {
            try await store.checkpoint()
            return (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        }
        // An hour first, so fixed pages (schema, slots, the recent rows of a minute) are paid.
        var all = samples(node: "tvpc", start: start, seconds: 3 * 3600)
        try await write(store, Array(all.prefix(3600)))
        let before = try await size()
        all.removeFirst(3600)
        try await write(store, all)
        let perSample = Double(try await size() - before) / Double(all.count)
        #expect(perSample <= 16, "\(perSample) bytes per sample")
    }
}

/// How the sqlite3 shell prints a REAL.
private func sqliteReal(_ value: Double) -> String {
    var text = String(format: "%.15g", value)
    if !text.contains(".") && !text.contains("e") { text += ".0" }
    return text
}

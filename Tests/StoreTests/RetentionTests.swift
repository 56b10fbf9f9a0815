import EnergyModel
import Foundation
import Logging
import Testing
import TestSupport

@testable import Store

@Suite("Energy queries and retention")
struct RetentionTests {
    /// One node at 1 Hz over `seconds` from `start`, with a gap and a smooth curve.
    private func samples(node: String, start: Int64, seconds: Int, gap: Range<Int>? = nil) -> [Sample] {
        (0..<seconds).compactMap { second in
            if let gap, gap.contains(second) { return nil }
            let watts = 20 + 10 * sin(Double(second) / 37) + Double(second % 7) * 0.1
            // Sample times jitter by a few milliseconds, as real polls do.
            let jitter = Int64((second * 37) % 23)
            return Sample(node: node, timestampMilliseconds: start + Int64(second) * 1000 + jitter, reading: Reading(watts: (watts * 1000).rounded() / 1000, volts: 230, amps: 0.1, energyWattHours: Double(second)))
        }
    }

    private func write(_ store: EnergyStore, _ samples: [Sample]) async throws {
        // As the service does: one transaction per tick.
        var index = 0
        while index < samples.count {
            try await store.write(samples: Array(samples[index..<min(index + 60, samples.count)]), counters: [:])
            index += 60
        }
    }

    @Test("trapezoids, peak, samples and coverage of a window")
    func window() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/e.db")
        let start: Int64 = 1_700_000_040_000  // a minute boundary
        let data = samples(node: "a", start: start, seconds: 600, gap: 100..<110)
        try await write(store, data)
        let result = try await store.energy(node: "a", fromMilliseconds: start, toMilliseconds: start + 600_000, maxGapMilliseconds: 3000)
        let expected = WindowEnergy.integrate(points: data.map { ($0.timestampMilliseconds, $0.reading.watts) }, from: start, to: start + 600_000, maxGapMilliseconds: 3000)
        #expect(result.energy == expected)
        #expect(result.energy.samples == 590)
        // The 11 s gap (samples 99 -> 110) is not bridged; the edges are partly covered.
        #expect(result.coveragePercent > 97 && result.coveragePercent < 98.3, "\(result.coveragePercent)")
        #expect(result.energy.peakWatts == data.map(\.reading.watts).max())
        let empty = try await store.energy(node: "nobody", fromMilliseconds: start, toMilliseconds: start + 1000, maxGapMilliseconds: 3000)
        #expect(empty.energy == WindowEnergy())
    }

    @Test("after folding, whole-minute windows agree with the raw answer and the view shows minutes")
    func foldAgrees() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/e.db"
        let store = try EnergyStore(path: path)
        let start: Int64 = 1_700_000_040_000
        let data = samples(node: "a", start: start, seconds: 1800, gap: 300..<420) + samples(node: "b", start: start, seconds: 1800)
        try await write(store, data)
        let windows: [(Int64, Int64)] = [(start, start + 600_000), (start + 240_000, start + 540_000), (start + 60_000, start + 1_200_000)]
        var before: [String: [WindowEnergy]] = [:]
        for node in ["a", "b"] {
            for (from, to) in windows {
                before[node, default: []].append(try await store.energy(node: node, fromMilliseconds: from, toMilliseconds: to, maxGapMilliseconds: 3000).energy)
            }
        }
        // Fold everything older than start + 20 min, in small batches.
        var steps = 0
        while true {
            let step = try await store.retentionStep(
                rawCutoffMilliseconds: start + 1_200_000, minuteCutoffMilliseconds: 0, maxGapMilliseconds: 3000, maxSamples: 600
            )
            steps += 1
            if !step.moreToDo { break }
        }
        #expect(steps == 4)  // 20 minutes, 5 minutes per batch for 2 nodes
        #expect(try await store.foldedUntil() == start + 1_200_000)
        for node in ["a", "b"] {
            for (index, (from, to)) in windows.enumerated() {
                let after = try await store.energy(node: node, fromMilliseconds: from, toMilliseconds: to, maxGapMilliseconds: 3000).energy
                let raw = before[node]![index]
                #expect(abs(after.joules - raw.joules) < 1e-6 * raw.joules, "\(node) \(index): \(after.joules) vs \(raw.joules)")
                #expect(after.coveredMilliseconds == raw.coveredMilliseconds)
                #expect(after.samples == raw.samples)
                #expect(after.peakWatts == raw.peakWatts)
            }
        }
        // Raw samples before the watermark are gone but for the last minute, kept for the
        // next fold to interpolate from.
        let remaining = try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: start + 1_200_000 - 60_000)
        #expect(remaining.isEmpty)
        let kept = try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: start + 1_200_000)
        #expect(kept.count == 60)
        if sqlite3Available {
            let minutes = try await sqlite3(path, "SELECT count(*), sum(samples), round(sum(joules), 3) FROM power_minute WHERE node = 'b'")
            let expected = WindowEnergy.integrate(points: data.filter { $0.node == "b" }.map { ($0.timestampMilliseconds, $0.reading.watts) }, from: start, to: start + 1_200_000, maxGapMilliseconds: 3000)
            #expect(minutes == "20|1200|\(String(format: "%.3f", expected.joules))")
        }
    }

    @Test("minute rows expire and the file gives pages back")
    func expiryAndVacuum() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/e.db"
        let store = try EnergyStore(path: path)
        let start: Int64 = 1_700_000_040_000
        try await write(store, samples(node: "a", start: start, seconds: 7200) + samples(node: "b", start: start, seconds: 7200))
        let database = try SQLiteDatabase(path: path)
        let pagesBefore = try database.scalarInt("PRAGMA page_count")
        var step: EnergyStore.RetentionStep
        repeat {
            step = try await store.retentionStep(
                rawCutoffMilliseconds: start + 7_200_000 + 60_000, minuteCutoffMilliseconds: start + 3_600_000, maxGapMilliseconds: 3000
            )
        } while step.moreToDo
        let pagesAfter = try database.scalarInt("PRAGMA page_count")
        // The schema and the views' slot numbers take the same pages in an empty store.
        let empty = try EnergyStore(path: folder.path + "/empty.db")
        empty.close()
        let fixed = try SQLiteDatabase(path: folder.path + "/empty.db").scalarInt("PRAGMA page_count")
        #expect(pagesAfter - fixed < (pagesBefore - fixed) / 4, "pages \(pagesBefore) -> \(pagesAfter), \(fixed) in an empty store")
        #expect(try database.scalarInt("PRAGMA freelist_count") < 100)
        #expect(try database.scalarInt("SELECT min(minute) * 60000 FROM minute") == start + 3_600_000)
        // Only the last minute of each node stays, for the next fold to interpolate from.
        #expect(try database.scalarInt("SELECT count(*) FROM readings") <= 2 * 60)
    }
}

@Suite("Retention service")
struct RetentionServiceTests {
    @Test("one pass folds every raw sample past the raw retention and expires minute rows past the minute retention")
    func onePass() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/e.db")
        let now = WallClock.nowMilliseconds() / 60_000 * 60_000
        // Three hours of one node at 1 Hz, ending an hour ago; one old minute beyond the minute retention.
        let start = now - 4 * 3_600_000
        var samples = (0..<10_800).map { Sample(node: "a", timestampMilliseconds: start + Int64($0) * 1000, reading: Reading(watts: 10)) }
        samples.insert(contentsOf: (0..<60).map { Sample(node: "a", timestampMilliseconds: now - 30 * 86_400_000 + Int64($0) * 1000, reading: Reading(watts: 5)) }, at: 0)
        for index in stride(from: 0, to: samples.count, by: 600) {
            try await store.write(samples: Array(samples[index..<min(index + 600, samples.count)]), counters: [:])
        }
        let service = RetentionService(
            store: store, rawMilliseconds: 2 * 3_600_000, minuteMilliseconds: 7 * 86_400_000, maxGapMilliseconds: 3000, logger: Logger(label: "test"))
        let batches = await service.runOnce()
        #expect(batches >= 2, "folding 2 hours and expiring takes more than one short batch")
        let cutoff = now - 2 * 3_600_000
        // Raw samples before the cutoff are gone but for the last minute, kept to interpolate from.
        #expect(try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: cutoff - 60_000).isEmpty)
        let folded = try await store.energy(node: "a", fromMilliseconds: start, toMilliseconds: cutoff, maxGapMilliseconds: 3000)
        #expect(abs(folded.energy.joules - 10 * Double(cutoff - start) / 1000) < 1e-6 * folded.energy.joules)
        // The month-old minute is past the minute retention: nothing is left of it.
        let old = try await store.energy(node: "a", fromMilliseconds: now - 31 * 86_400_000, toMilliseconds: now - 29 * 86_400_000, maxGapMilliseconds: 3000)
        #expect(old.energy.samples == 0)
        #expect(await service.runOnce() == 1, "a second pass finds nothing due")
    }
}

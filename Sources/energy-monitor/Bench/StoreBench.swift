import EnergyModel
import Foundation
import MonitorService
import Store

/// The store part of `bench`: where the databases are, ingest rate and per-tick write time
/// for both durability settings, bytes per sample on disk, the 24 h query, and what a sample
/// waiting in memory during a store outage costs.
struct StoreBench {
    let folder: URL
    let nodes: Int
    let ticks: Int

    /// Samples per tick of the per-tick write figures: the reference cluster, a large and a
    /// very large one.
    static let tickSizes = [3, 1000, 5000]

    func run() async throws {
        Console.write("store databases in \(folder.path) (\(Self.filesystem(of: folder.path)))")
        for durability in [EnergyStore.Durability.powerLoss, .processCrash] {
            let setting = "synchronous=\(durability.pragmaValue)"
            let ingest = try await tickWrites(samplesPerTick: nodes, durability: durability)
            let label = durability == .powerLoss ? "store ingest" : "store ingest, \(setting)"
            Console.write(
                "\(label): \(Int(clampingRounding: ingest.samplesPerSecond)) samples/s (\(nodes * ticks) samples, \(nodes) per transaction, \(setting))"
            )
            for size in Self.tickSizes {
                let figures = size == nodes ? ingest : try await tickWrites(samplesPerTick: size, durability: durability)
                Console.write(
                    String(
                        format: "store tick write, %d samples, %@: median %.2f ms, p99 %.2f ms (%d ticks, one transaction each)",
                        size, setting, figures.medianMilliseconds, figures.p99Milliseconds, ticks
                    )
                )
            }
        }
        try await day()
        backlog()
    }

    /// Writes `ticks` ticks of `samplesPerTick` nodes one second apart, one transaction each
    /// as the service writes (with the packing of each completed minute), into a new database.
    private func tickWrites(
        samplesPerTick: Int, durability: EnergyStore.Durability
    ) async throws -> (samplesPerSecond: Double, medianMilliseconds: Double, p99Milliseconds: Double) {
        let path = folder.appendingPathComponent("ticks-\(samplesPerTick)-\(durability.pragmaValue).db").path
        let store = try EnergyStore(path: path, durability: durability)
        defer {
            store.close()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let start: Int64 = 1_700_000_000_000
        let names = (0..<samplesPerTick).map { "node-\($0)" }
        var timings: [Double] = []
        timings.reserveCapacity(ticks)
        for tick in 0..<ticks {
            let samples = names.enumerated().map { index, name in
                Sample(
                    node: name, timestampMilliseconds: start + Int64(tick) * 1000 + Int64(index % 50),
                    reading: Reading(
                        watts: 20 + Double((tick + index) % 400) / 10, volts: 230.1, amps: 0.123,
                        energyWattHours: 1000 + Double(tick) / 100
                    )
                )
            }
            let began = WallClock.nowNanoseconds()
            try await store.write(samples: samples, counters: [:])
            timings.append(Double(WallClock.nowNanoseconds() - began) / 1e6)
        }
        let total = timings.reduce(0, +) / 1000
        let sorted = timings.sorted()
        let p99 = sorted[min(sorted.count - 1, Int(clampingRounding: Double(sorted.count) * 0.99, .up) - 1)]
        return (Double(samplesPerTick * ticks) / max(total, 1e-9), sorted[sorted.count / 2], p99)
    }

    /// 24 h of one node at 1 Hz: bytes per sample and the energy query.
    private func day() async throws {
        let start: Int64 = 1_700_000_000_000
        let dayPath = folder.appendingPathComponent("day.db").path
        let day = try EnergyStore(path: dayPath)
        // One transaction per tick, as the service writes.
        for second in 0..<86_400 {
            let watts = 48.5 + 100 * max(0, sin(Double(second) / 600)) + Double(second % 7) / 10
            let sample = Sample(
                node: "tvpc", timestampMilliseconds: start + Int64(second) * 1000 + Int64(second * 37 % 40),
                reading: Reading(
                    watts: (watts * 10).rounded() / 10, volts: 229.8, amps: (watts / 230 * 1000).rounded() / 1000,
                    energyWattHours: 7000 + Double(second) / 60
                )
            )
            try await day.write(samples: [sample], counters: [:])
        }
        try await day.checkpoint()
        let bytes = (try FileManager.default.attributesOfItem(atPath: dayPath)[.size] as? NSNumber)?.intValue ?? 0
        Console.write(String(format: "bytes per sample: %.1f (%d bytes for 86400 samples, one node)", Double(bytes) / 86_400, bytes))
        var timings: [Double] = []
        var joules = 0.0
        for _ in 0..<21 {
            let began = WallClock.nowNanoseconds()
            let result = try await day.energy(
                node: "tvpc", fromMilliseconds: start, toMilliseconds: start + 86_400_000, maxGapMilliseconds: 3000
            )
            timings.append(Double(WallClock.nowNanoseconds() - began) / 1e6)
            joules = result.energy.joules
        }
        timings.sort()
        Console.write(
            String(format: "24 h energy query, one node: median %.2f ms, max %.2f ms (%.0f J over 86400 samples)",
                   timings[timings.count / 2], timings.last ?? 0, joules)
        )
        day.close()
    }

    /// Estimated bytes per sample waiting in memory while the store cannot write, for ticks
    /// as the poller makes them, and what the default bound holds.
    private func backlog() {
        var perSample: [Int: Double] = [:]
        for size in Self.tickSizes {
            // As the monitor gathers a tick's samples: one slot per plug, appended.
            var samples: [Sample] = []
            samples.reserveCapacity(size)
            for index in 0..<size {
                let reading = Reading(watts: 1, volts: 230, amps: 0.1, energyWattHours: 1)
                samples.append(Sample(node: "sim-\(index)", timestampMilliseconds: 0, reading: reading))
            }
            perSample[size] = Double(SampleBacklog.estimatedBytes(of: samples)) / Double(size)
        }
        let bound = MonitorConfiguration().backlogBytes
        let thousand = perSample[1000] ?? 1
        Console.write(
            String(
                format: "backlog bytes per waiting sample: %.1f / %.1f / %.1f at 3 / 1000 / 5000 plugs "
                    + "(MemoryLayout<Sample>.stride %d); the default %d MiB hold %.0f minutes of 1000 plugs, %.1f days of 3",
                perSample[3] ?? 0, thousand, perSample[5000] ?? 0, MemoryLayout<Sample>.stride, bound >> 20,
                Double(bound) / thousand / 1000 / 60, Double(bound) / (perSample[3] ?? 1) / 3 / 86_400
            )
        )
    }

    /// The type of the filesystem holding `path` (from `/proc/self/mounts`: the longest
    /// mount point that contains it), with a warning where syncing costs nothing: a RAM disk
    /// measures no durability.
    static func filesystem(of path: String) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // Spaces in mount points are written as \040.
            let point = fields[1].replacingOccurrences(of: "\\040", with: " ")
            let contains = point == "/" || resolved == point || resolved.hasPrefix(point + "/")
            if contains, point.count >= (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        guard let best else { return "filesystem unknown" }
        if ["tmpfs", "ramfs"].contains(best.type) {
            return "\(best.type) at \(best.point): in memory, syncs cost nothing here; give --folder on a disk for real write figures"
        }
        return "\(best.type) at \(best.point)"
    }
}

import EnergyModel
import Foundation
import Store

/// The store part of `bench`: ingest rate, bytes per sample on disk and the 24 h query.
struct StoreBench {
    let folder: URL
    let nodes: Int
    let ticks: Int

    func run() async throws {
        // Ingest: `nodes` samples per transaction, as one tick of a large cluster.
        let ingest = try EnergyStore(path: folder.appendingPathComponent("ingest.db").path)
        let start: Int64 = 1_700_000_000_000
        let names = (0..<nodes).map { "node-\($0)" }
        var elapsed: Double = 0
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
            try await ingest.write(samples: samples, counters: [:])
            elapsed += Double(WallClock.nowNanoseconds() - began) / 1e9
        }
        ingest.close()
        let total = nodes * ticks
        Console.write("store ingest: \(Int(clampingRounding: Double(total) / elapsed)) samples/s (\(total) samples, \(nodes) per transaction)")

        // 24 h of one node at 1 Hz: bytes per sample and the energy query.
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
}

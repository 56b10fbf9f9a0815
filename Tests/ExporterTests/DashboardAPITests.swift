import EnergyModel
import EnergyQueries
import Foundation
import Store
import Testing

@testable import Exporter

@Suite("Dashboard API")
struct DashboardAPITests {
    static let now: Int64 = 1_769_030_700_000

    /// A store with `node` sampled once a second at `watts(second)` for the given seconds.
    static func makeStore(in folder: String, samples: [(node: String, second: Int64, watts: Double)]) async throws
        -> EnergyStore
    {
        let store = try EnergyStore(path: folder + "/energy.db")
        try await store.setInterval(milliseconds: 1000)
        var counters: [String: EnergyCounters] = [:]
        var batch: [Sample] = []
        for sample in samples {
            let value = Sample(
                node: sample.node, timestampMilliseconds: now + sample.second * 1000,
                reading: Reading(watts: sample.watts))
            _ = counters[sample.node, default: EnergyCounters()].add(value, maxGapMilliseconds: 3000)
            batch.append(value)
        }
        try await store.write(samples: batch, counters: counters)
        return store
    }

    @Test("series: averages per step, newest sample per step, gaps left out, other nodes apart")
    func series() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // tvpc: seconds 0..9 at 10 W + second, then nothing until 20..24 at 100 W.
        var samples: [(node: String, second: Int64, watts: Double)] = (0..<10).map {
            ("tvpc", Int64($0), 10 + Double($0))
        }
        samples += (20..<25).map { ("tvpc", Int64($0), 100) }
        samples += (0..<25).map { ("rpi", Int64($0), 2.5) }
        let store = try await Self.makeStore(in: folder, samples: samples)
        defer { store.close() }
        let api = DashboardAPI(store: store, nodes: ["tvpc", "rpi"], intervalMilliseconds: 1000)
        let query = PowerQuery(
            nodes: ["tvpc", "rpi"], fromMilliseconds: Self.now, toMilliseconds: Self.now + 30_000,
            stepMilliseconds: 5_000)
        let response = try await api.power(query)
        #expect(response.series.map(\.node) == ["tvpc", "rpi"])
        let tvpc = response.series[0]
        let start = Double(Self.now)
        #expect(tvpc.points == [[start, 12], [start + 5_000, 17], [start + 20_000, 100]])
        #expect(tvpc.lastSample == Self.now + 24_000)
        #expect(response.series[1].points.count == 5)
        #expect(response.series[1].points.allSatisfy { $0[1] == 2.5 })

        let json = String(decoding: try DashboardAPI.encode(response), as: UTF8.self)
        #expect(
            json.hasPrefix(
                "{\"from\":1769030700000,\"series\":[{\"lastSample\":1769030724000,\"node\":\"tvpc\",\"points\":[[1769030700000,12],"
            ), "\(json)")

        // The status 2 s after the last sample: up, with today's energy; 10 s after: down.
        let fresh = try await api.status(nowMilliseconds: Self.now + 26_000)
        #expect(fresh.nodes.map(\.node) == ["tvpc", "rpi"])
        #expect(fresh.nodes[0].up && fresh.nodes[0].watts == 100)
        #expect(fresh.todayFrom == Self.now - Self.now % 86_400_000)
        // tvpc: 9 s of 10..19 W (trapezoid: 130.5 J) plus 4 s at 100 W; the 10 s gap is not bridged.
        #expect(abs(fresh.nodes[0].energyTodayJoules - 530.5) < 0.01, "\(fresh.nodes[0])")
        let stale = try await api.status(nowMilliseconds: Self.now + 34_000)
        #expect(!stale.nodes[0].up && stale.nodes[0].watts == nil && stale.nodes[0].lastSample == Self.now + 24_000)
    }
}

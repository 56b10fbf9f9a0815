import EnergyModel
import EnergyQueries
import Foundation
import Store
import TestSupport
import Testing

@testable import Exporter

/// `GET /api/v1/energy`: its answer, which is the `energy` command's JSON.
@Suite("Energy API")
struct EnergyAPITests {
    static let now: Int64 = DashboardAPITests.now

    @Test("the answer is EnergyReport's JSON over the store's recorded interval")
    func answer() async throws {
        let folder = try TemporaryDirectory()
        // A 4 s gap: not bridged at the store's recorded 1 s interval (3 s at most), as the
        // energy command reads it, though the API's own 5 s would bridge it.
        let seconds = (Int64(0)..<60).filter { !(31...33).contains($0) }
        let store = try await DashboardAPITests.makeStore(
            in: folder.path, samples: seconds.map { (node: "rpi", second: $0, watts: 2.5) })
        defer { store.close() }
        let api = DashboardAPI(store: store, nodes: ["rpi"], intervalMilliseconds: 5000)
        let report = try await api.energy(
            EnergyQuery(nodes: ["rpi"], fromMilliseconds: Self.now, toMilliseconds: Self.now + 59_000))
        #expect(
            report.render(.json)
                == #"[{"node":"rpi","from":"2026-01-21T21:25:00Z","to":"2026-01-21T21:25:59Z","joules":137.500,"avgWatts":2.500,"peakWatts":2.500,"samples":56,"coveragePercent":93.22,"measuredJoules":137.500,"backfilledJoules":0.000,"backfilledPercent":0.00,"missingPercent":6.78}]"#
        )
    }

    @Test("a gap the service is still closing is stated as pendingPercent, only while it overlaps the window")
    func pending() async throws {
        let folder = try TemporaryDirectory()
        let seconds = (Int64(0)..<60).filter { !(20...49).contains($0) }
        let store = try await DashboardAPITests.makeStore(
            in: folder.path, samples: seconds.map { (node: "rpi", second: $0, watts: 2.5) })
        defer { store.close() }
        let gap = (from: Self.now + 19_000, to: Self.now + 50_000)
        let api = DashboardAPI(
            store: store, nodes: ["rpi"], intervalMilliseconds: 1000, pendingGap: { $0 == "rpi" ? gap : nil })
        let window = try await api.energy(
            EnergyQuery(nodes: ["rpi"], fromMilliseconds: Self.now, toMilliseconds: Self.now + 62_000))
        #expect(window.pendingPercent["rpi"].map { abs($0 - 50) < 1e-9 } == true, "\(window.pendingPercent)")
        #expect(window.render(.json).hasSuffix(#","pendingPercent":50.00}]"#), "\(window.render(.json))")
        let before = try await api.energy(
            EnergyQuery(nodes: ["rpi"], fromMilliseconds: Self.now, toMilliseconds: Self.now + 19_000))
        #expect(before.pendingPercent.isEmpty)
        #expect(!before.render(.json).contains("pendingPercent"))
    }
}

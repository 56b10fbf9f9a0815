import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

@Suite("Pod energy in the store")
struct PodEnergyStoreTests {
    static let minute: Int64 = 1_700_000_040_000  // a minute boundary

    private func row(
        _ pod: String, from: Int64, to: Int64, dynamic: Double, static staticJoules: Double = 0,
        kind: PodMinuteRow.Kind = .pod, node: String = "a"
    ) -> PodMinuteRow {
        PodMinuteRow(
            node: node, kind: kind, namespace: kind == .pod ? "ml" : "", pod: kind == .pod ? pod : "",
            uid: kind == .pod ? "uid-\(pod)" : "", fromMilliseconds: from, toMilliseconds: to,
            cpuSeconds: Double(to - from) / 1000, dynamicJoules: dynamic, staticJoules: staticJoules,
            coveredMilliseconds: to - from)
    }

    @Test("rows of one minute add up; the view shows them in joules and seconds; a window cut by a row counts its part")
    func accumulate() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        let start = Self.minute
        try await store.addPodEnergy([
            row("p", from: start, to: start + 15_000, dynamic: 30, static: 15),
            row("q", from: start, to: start + 15_000, dynamic: 10),
            row("", from: start, to: start + 15_000, dynamic: 5, kind: .system),
            row("", from: start, to: start + 15_000, dynamic: 0, static: 40, kind: .idle),
        ])
        try await store.addPodEnergy([row("p", from: start + 15_000, to: start + 30_000, dynamic: 30, static: 15)])
        let totals = try await store.podEnergy(fromMilliseconds: start, toMilliseconds: start + 60_000)
        #expect(totals.count == 4)
        let p = try #require(totals.first { $0.pod == "p" })
        #expect(p.joules == 90)
        #expect(p.coveredMilliseconds == 30_000)
        #expect(p.firstMilliseconds == start && p.lastMilliseconds == start + 30_000)
        #expect(totals.first { $0.kind == .idle }?.staticJoules == 40)
        // Half of p's attributed span lies in the window.
        let half = try await store.podEnergy(
            namespace: "ml", fromMilliseconds: start + 15_000, toMilliseconds: start + 60_000)
        #expect(half.map(\.pod).sorted() == ["p"])
        #expect(abs((half.first?.joules ?? 0) - 45) < 1e-9)
        // The view, as `sqlite3` users read it.
        let database = try SQLiteDatabase(path: folder.path("e.db"))
        #expect(
            try database.scalarDouble("SELECT sum(joules) FROM pod_energy WHERE node = 'a' AND kind = 'pod'") == 100)
        #expect(try database.scalarDouble("SELECT covered_s FROM pod_energy WHERE pod = 'p'") == 30)
        #expect(try database.scalarDouble("SELECT ts FROM pod_energy WHERE pod = 'p'") == Double(start / 1000))
    }

    @Test("a pod's footprint: each minute row's joules at the intensity and price in force, split at a change")
    func footprint() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        defer { store.close() }
        let start = Self.minute
        // 36 kJ in the first minute, 72 kJ in the second; the intensity goes from 100 to 500 g/kWh
        // a quarter into the second minute's row, the price stays at 0.25 EUR.
        try await store.addPodEnergy([row("p", from: start, to: start + 60_000, dynamic: 36_000)])
        try await store.addPodEnergy([
            row("p", from: start + 60_000, to: start + 100_000, dynamic: 60_000, static: 12_000)
        ])
        let rates = FootprintRates(
            intensity: StepSeries(steps: [
                .init(startMilliseconds: 0, value: 100), .init(startMilliseconds: start + 70_000, value: 500),
            ]),
            tariff: Tariff(perKWh: 0.25, currency: "EUR"))
        let totals = try await store.podEnergy(fromMilliseconds: start, toMilliseconds: start + 120_000, rates: rates)
        let p = try #require(totals.first { $0.pod == "p" }?.footprint)
        #expect(abs(p.kwh - 0.03) < 1e-12)
        // 36 kJ + 18 kJ (the row's first 10 of 40 s) at 100 g, 54 kJ at 500 g.
        #expect(p.gramsCO2e.map { abs($0 - (54_000.0 * 100 + 54_000 * 500) / 3_600_000) < 1e-9 } == true)
        #expect(p.cost.map { abs($0 - 0.0075) < 1e-12 } == true && p.currency == "EUR")
        let plain = try await store.podEnergy(fromMilliseconds: start, toMilliseconds: start + 120_000)
        #expect(plain.allSatisfy { $0.footprint == nil })
    }

    @Test("a row across a minute boundary or with figures that are not finite is refused whole")
    func refused() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        let start = Self.minute
        for bad in [
            row("p", from: start + 50_000, to: start + 70_000, dynamic: 1),
            row("p", from: start, to: start + 1000, dynamic: .nan),
            row("p", from: start, to: start + 1000, dynamic: -1),
            row("p", from: start, to: start + 1000, dynamic: .infinity),
        ] {
            await #expect(throws: StoreError.self) {
                try await store.addPodEnergy([row("q", from: start, to: start + 1000, dynamic: 1), bad])
            }
        }
        #expect(try await store.podEnergy(fromMilliseconds: start, toMilliseconds: start + 60_000).isEmpty)
    }

    @Test("a stored row with absurd figures is skipped and counted, not summed")
    func badRow() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        let start = Self.minute
        try await store.addPodEnergy([
            row("p", from: start, to: start + 15_000, dynamic: 30),
            row("q", from: start, to: start + 15_000, dynamic: 3),
        ])
        let database = try SQLiteDatabase(path: folder.path("e.db"))
        try database.execute("UPDATE pod_minute SET dynamic_joules = -5 WHERE pod = 'q'")
        let totals = try await store.podEnergy(fromMilliseconds: start, toMilliseconds: start + 60_000)
        #expect(totals.map(\.pod) == ["p"])
        #expect(store.faults.badRows[.podMinute] == 1)
    }

    @Test("pod rows expire with the minute rows")
    func retention() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        let start = Self.minute
        try await store.addPodEnergy([
            row("old", from: start, to: start + 15_000, dynamic: 1),
            row("new", from: start + 3_600_000, to: start + 3_615_000, dynamic: 1),
        ])
        _ = try await store.retentionStep(
            rawCutoffMilliseconds: start, minuteCutoffMilliseconds: start + 1_800_000, maxGapMilliseconds: 3000)
        let left = try await store.podEnergy(fromMilliseconds: 0, toMilliseconds: start + 7_200_000)
        #expect(left.map(\.pod) == ["new"])
    }

    @Test("a database of version 5 gets the pod table and view; its counters stay")
    func migration() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("e.db")
        var counter = EnergyCounters()
        counter.add(
            Sample(node: "a", timestampMilliseconds: 1000, reading: Reading(watts: 10)), maxGapMilliseconds: 3000)
        counter.add(
            Sample(node: "a", timestampMilliseconds: 2000, reading: Reading(watts: 20)), maxGapMilliseconds: 3000)
        do {
            let store = try EnergyStore(path: path)
            try await store.write(samples: [], counters: ["a": counter])
            store.close()
        }
        do {
            let database = try SQLiteDatabase(path: path)
            try database.downgrade(to: 5)
        }
        let store = try EnergyStore(path: path)
        #expect(try await store.loadCounters()["a"]?.energyJoules == 15)
        try await store.addPodEnergy([row("p", from: Self.minute, to: Self.minute + 1000, dynamic: 2)])
        #expect(try await store.podEnergy(fromMilliseconds: 0, toMilliseconds: .max).first?.joules == 2)
    }
}

extension SQLiteDatabase {
    /// The first column of the first row of `sql`, as a number.
    fileprivate func scalarDouble(_ sql: String) throws -> Double? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.storedDouble(0)
    }
}

import EnergyModel
import EnergyQueries
import Foundation
import Store
import TestSupport
import Testing

@testable import Exporter

/// Emissions and cost of stored energy: the window split at every minute and every change,
/// each piece's joules from the samples.
@Suite("Footprint of stored energy")
struct FootprintEnergyTests {
    static let now: Int64 = DashboardAPITests.now

    /// 100 g/kWh, 400 g/kWh from 90.5 s on; 0.20 EUR/kWh, 0.50 from 21:26 on Wednesdays.
    static let rates = FootprintRates(
        intensity: StepSeries(steps: [
            .init(startMilliseconds: 0, value: 100), .init(startMilliseconds: now + 90_500, value: 400),
        ]),
        tariff: Tariff(
            perKWh: 0.2, currency: "EUR",
            periods: [.init(weekdays: [3], fromMinute: 21 * 60 + 26, toMinute: 1440, perKWh: 0.5)]))

    /// A node drawing 600 W until second 89 and 1200 W from second 90, sampled every second.
    static func makeStore(in folder: String) async throws -> EnergyStore {
        try await DashboardAPITests.makeStore(
            in: folder, samples: (Int64(0)...180).map { (node: "tvpc", second: $0, watts: $0 < 90 ? 600 : 1200) })
    }

    @Test("an intensity change and a tariff change inside one window, against hand-computed figures")
    func handComputed() async throws {
        let folder = try TemporaryDirectory()
        let store = try await Self.makeStore(in: folder.path)
        defer { store.close() }
        let footprint = try await EnergyReport.footprint(
            store: store, node: "tvpc", fromMilliseconds: Self.now + 30_000, toMilliseconds: Self.now + 150_000,
            intervalMilliseconds: 1000, rates: Self.rates)
        // [30, 60) s: 18,000 J at 100 g and 0.20; [60, 90.5) s: 17,400 + 900 (the 89-90 s ramp) +
        // 600 J at 100 g and 0.50; [90.5, 150) s: 71,400 J at 400 g and 0.50.
        #expect(abs(footprint.kwh - 108_300.0 / 3_600_000) < 1e-9, "\(footprint)")
        #expect(footprint.gramsCO2e.map { abs($0 - 32_250_000.0 / 3_600_000) < 1e-6 } == true, "\(footprint)")
        #expect(footprint.cost.map { abs($0 - 48_750.0 / 3_600_000) < 1e-9 } == true, "\(footprint)")
        // The mean intensity times the total would say 7.48 g: the load rose when the grid got dirtier.
        let meanIntensity = (60.5 * 100 + 59.5 * 400) / 120
        #expect(abs(meanIntensity * footprint.kwh - (footprint.gramsCO2e ?? 0)) > 1)
        // The pieces add up to the window's joules as the energy query integrates them.
        let whole = try await store.energy(
            node: "tvpc", fromMilliseconds: Self.now + 30_000, toMilliseconds: Self.now + 150_000,
            maxGapMilliseconds: 3000)
        #expect(abs(whole.joules / 3_600_000 - footprint.kwh) < 1e-12)
    }

    @Test("the API's JSON carries kwh, gramsCO2e, cost and currency beside the old members")
    func api() async throws {
        let folder = try TemporaryDirectory()
        let store = try await Self.makeStore(in: folder.path)
        defer { store.close() }
        let api = DashboardAPI(store: store, nodes: ["tvpc"], intervalMilliseconds: 1000, rates: { Self.rates })
        let report = try await api.energy(
            EnergyQuery(nodes: ["tvpc"], fromMilliseconds: Self.now + 30_000, toMilliseconds: Self.now + 150_000))
        let json = report.render(.json)
        #expect(
            json.contains(#""missingPercent":0.00,"kwh":0.030083,"gramsCO2e":8.958,"cost":0.013542,"currency":"EUR"}"#),
            "\(json)")
        let csv = report.render(.csv).split(separator: "\n")
        #expect(csv.first?.hasSuffix(",missing_percent,kwh,grams_co2e,cost,currency") == true)
        #expect(csv.last?.hasSuffix(",0.030083,8.958,0.013542,EUR") == true, "\(csv)")
        // Without rates the answer is the old one, member for member.
        let plain = DashboardAPI(store: store, nodes: ["tvpc"], intervalMilliseconds: 1000)
        let old = try await plain.energy(
            EnergyQuery(nodes: ["tvpc"], fromMilliseconds: Self.now + 30_000, toMilliseconds: Self.now + 150_000))
        #expect(!old.render(.json).contains("kwh") && !old.render(.csv).contains("kwh"))
        // Price alone: the emissions are null, not 0.
        let priced = DashboardAPI(
            store: store, nodes: ["tvpc"], intervalMilliseconds: 1000,
            rates: { FootprintRates(tariff: Self.rates.tariff) })
        let cost = try await priced.energy(
            EnergyQuery(nodes: ["tvpc"], fromMilliseconds: Self.now + 30_000, toMilliseconds: Self.now + 150_000))
        #expect(cost.render(.json).contains(#""gramsCO2e":null,"cost":0.013542"#), "\(cost.render(.json))")
    }
}

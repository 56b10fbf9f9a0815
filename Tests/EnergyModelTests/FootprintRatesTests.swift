import EnergyModel
import Foundation
import Testing

/// Intensity and price over time, and the minute-by-minute integral against them.
@Suite("Footprint rates")
struct FootprintRatesTests {
    /// 2026-01-21T21:25:00Z, a Wednesday.
    static let now: Int64 = 1_769_030_700_000

    @Test("a step series: nothing before its first value, each value until the next, the last one onwards")
    func steps() {
        let series = StepSeries(steps: [
            .init(startMilliseconds: 2000, value: 300), .init(startMilliseconds: 1000, value: 100),
            .init(startMilliseconds: 2000, value: 250),
        ])
        #expect(series.value(at: 999) == nil)
        #expect(series.value(at: 1000) == 100)
        #expect(series.value(at: 1999) == 100)
        #expect(series.value(at: 2000) == 250)
        #expect(series.value(at: .max) == 250)
        #expect(series.changes(after: 0, before: 5000) == [1000, 2000])
        #expect(series.changes(after: 1000, before: 2000) == [])
        #expect(series.changes(after: 1500, before: 2001) == [2000])
        #expect(StepSeries.constant(380).value(at: .min) == 380)
    }

    @Test("a time-of-use table: first row that applies, the default elsewhere, wall-clock times of its zone")
    func tariff() throws {
        var tariff = Tariff(
            perKWh: 0.2, currency: "EUR",
            periods: [
                .init(weekdays: [3], fromMinute: 21 * 60 + 26, toMinute: 1440, perKWh: 0.5),
                .init(weekdays: Set(1...7), fromMinute: 0, toMinute: 6 * 60, perKWh: 0.1),
            ])
        #expect(tariff.price(at: Self.now) == 0.2)  // Wednesday 21:25 UTC
        #expect(tariff.price(at: Self.now + 60_000) == 0.5)  // 21:26
        #expect(tariff.price(at: Self.now + 9 * 3_600_000) == 0.2)  // Thursday 06:25, after the night row
        #expect(tariff.price(at: Self.now + 3 * 3_600_000) == 0.1)  // Thursday 00:25
        // In Berlin (UTC+1 in January) 21:25 UTC is 22:25 Wednesday: the evening row.
        tariff.timeZone = try #require(TimeZone(identifier: "Europe/Berlin"))
        #expect(tariff.price(at: Self.now) == 0.5)
        #expect(tariff.price(at: Self.now - 3_600_000) == 0.2)  // 21:25 Berlin
        // Summer time: 2026-07-15T04:30Z is 06:30 in Berlin (UTC+2), past the night row.
        let july: Int64 = 1_784_089_800_000
        #expect(tariff.price(at: july) == 0.2)
        #expect(tariff.price(at: july - 3_600_000) == 0.1)  // 05:30 Berlin
    }

    @Test("cuts: the window's edges, every minute boundary and every change of intensity")
    func cuts() {
        let rates = FootprintRates(
            intensity: StepSeries(steps: [
                .init(startMilliseconds: 0, value: 100), .init(startMilliseconds: Self.now + 90_500, value: 400),
            ]))
        let cuts = rates.cuts(from: Self.now + 30_000, to: Self.now + 150_000)
        #expect(cuts.map { $0 - Self.now } == [30_000, 60_000, 90_500, 120_000, 150_000])
        #expect(rates.cuts(from: Self.now, to: Self.now + 60_000).map { $0 - Self.now } == [0, 60_000])
        #expect(rates.cuts(from: Self.now, to: Self.now) == [Self.now])
    }

    @Test("the integral weighs each piece's energy by the intensity and price in force during it")
    func integral() {
        let rates = FootprintRates(
            intensity: StepSeries(steps: [
                .init(startMilliseconds: 0, value: 100), .init(startMilliseconds: Self.now + 90_500, value: 400),
            ]),
            tariff: Tariff(
                perKWh: 0.2, currency: "EUR",
                periods: [.init(weekdays: [3], fromMinute: 21 * 60 + 26, toMinute: 1440, perKWh: 0.5)]))
        let cuts = rates.cuts(from: Self.now + 30_000, to: Self.now + 150_000)
        // [30, 60) s, [60, 90.5) s, [90.5, 120) s, [120, 150) s of a node drawing 600 W, then 1200 W.
        let joules = [18_000.0, 18_900, 35_400, 36_000]
        let footprint = rates.footprint(cuts: cuts, joules: joules)
        #expect(abs(footprint.kwh - 108_300 / 3_600_000) < 1e-12)
        // (36,900 J x 100 + 71,400 J x 400) / 3.6e6
        #expect(footprint.gramsCO2e.map { abs($0 - 32_250_000 / 3_600_000) < 1e-9 } == true)
        // (18,000 J x 0.2 + 90,300 J x 0.5) / 3.6e6
        #expect(footprint.cost.map { abs($0 - 48_750 / 3_600_000) < 1e-12 } == true)
        #expect(footprint.currency == "EUR")
    }

    @Test("energy before the first intensity makes the emissions unknown, not 0; none configured is nil")
    func unknown() {
        let rates = FootprintRates(
            intensity: StepSeries(steps: [.init(startMilliseconds: Self.now + 60_000, value: 50)]))
        let cuts = rates.cuts(from: Self.now, to: Self.now + 120_000)
        #expect(rates.footprint(cuts: cuts, joules: [100, 100]).gramsCO2e == nil)
        #expect(rates.footprint(cuts: cuts, joules: [0, 3_600_000]).gramsCO2e == 50)
        #expect(rates.footprint(cuts: cuts, joules: [0, 3_600_000]).cost == nil)
        #expect(FootprintRates().isEmpty)
    }
}

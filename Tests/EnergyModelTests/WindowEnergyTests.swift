import EnergyModel
import Testing

@Suite("Window energy")
struct WindowEnergyTests {
    static let points: [(timestampMilliseconds: Int64, watts: Double)] = [
        (0, 10), (1000, 20), (2000, 20), (10_000, 50), (11_000, 50),
    ]

    @Test("trapezoids between samples at most the maximum gap apart; a longer gap is uncovered")
    func integrate() {
        let energy = WindowEnergy.integrate(points: Self.points, from: 0, to: 12_000, maxGapMilliseconds: 3000)
        #expect(energy.joules == 15 + 20 + 50)
        #expect(energy.coveredMilliseconds == 3000)
        #expect(energy.samples == 5)
        #expect(energy.peakWatts == 50 && energy.minWatts == 10)
        #expect(energy.sumWatts == 150)
        #expect(energy.averageWatts == 85.0 / 3)
    }

    @Test("edges between samples are interpolated, so adjacent windows add up to their union")
    func edges() {
        let first = WindowEnergy.integrate(points: Self.points, from: 0, to: 500, maxGapMilliseconds: 3000)
        #expect(first.joules == (10 + 15) / 2 * 0.5)
        #expect(first.coveredMilliseconds == 500)
        var parts = WindowEnergy()
        for start in stride(from: Int64(0), to: 12_000, by: 700) {
            parts.merge(WindowEnergy.integrate(points: Self.points, from: start, to: min(start + 700, 12_000), maxGapMilliseconds: 3000))
        }
        let whole = WindowEnergy.integrate(points: Self.points, from: 0, to: 12_000, maxGapMilliseconds: 3000)
        #expect(abs(parts.joules - whole.joules) < 1e-9)
        #expect(parts.coveredMilliseconds == whole.coveredMilliseconds)
        #expect(parts.samples == whole.samples && parts.peakWatts == whole.peakWatts && parts.minWatts == whole.minWatts)
    }

    @Test("empty, reversed and single-sample windows carry no energy")
    func degenerate() {
        #expect(WindowEnergy.integrate(points: [], from: 0, to: 1000, maxGapMilliseconds: 3000) == WindowEnergy())
        #expect(WindowEnergy.integrate(points: Self.points, from: 5000, to: 5000, maxGapMilliseconds: 3000) == WindowEnergy())
        #expect(WindowEnergy.integrate(points: Self.points, from: 2000, to: 1000, maxGapMilliseconds: 3000) == WindowEnergy())
        let single = WindowEnergy.integrate(points: [(500, 7)], from: 0, to: 1000, maxGapMilliseconds: 3000)
        #expect(single.joules == 0 && single.samples == 1 && single.averageWatts == nil)
    }
}

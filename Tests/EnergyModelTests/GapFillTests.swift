import EnergyModel
import Testing

@Suite("Gap placement")
struct GapFillTests {
    /// A minute boundary.
    static let m: Int64 = 1_700_000_040_000

    static func minute(_ index: Int64, _ joules: Double) -> DeviceMinutes.Interval {
        DeviceMinutes.Interval(
            startMilliseconds: m + index * 60_000, endMilliseconds: m + (index + 1) * 60_000, joules: joules)
    }

    static func sum(_ parts: [BackfillPart]) -> Double { parts.reduce(0) { $0 + $1.joules } }

    @Test("the counter alone: spread evenly, one part per minute, nothing lost")
    func counterOnly() {
        let from = Self.m + 20_000
        let to = Self.m + 150_000
        let parts = GapFill.parts(from: from, to: to, counterJoules: 1300, figures: nil)
        #expect(parts.map(\.startMilliseconds) == [from, Self.m + 60_000, Self.m + 120_000])
        #expect(parts.map(\.endMilliseconds) == [Self.m + 60_000, Self.m + 120_000, to])
        #expect(parts.allSatisfy { $0.source == .counter })
        #expect(abs(Self.sum(parts) - 1300) < 1e-9)
        // 10 J a second over 130 s.
        #expect(
            abs(parts[0].joules - 400) < 1e-9 && abs(parts[1].joules - 600) < 1e-9 && abs(parts[2].joules - 300) < 1e-9)
    }

    @Test(
        "whole minutes from the device, the first minute's gap share from its figure less what was measured, the rest from the counter"
    )
    func minutesAndEdges() {
        // The gap: 40 s into minute 0 to 25 s into minute 3. The device counted 600 J in minute
        // 0 (240 J of it measured before the gap), 700 J and 800 J in minutes 1 and 2.
        let from = Self.m + 40_000
        let to = Self.m + 205_000
        let figures = DeviceMinutes(
            source: .minutes, intervals: [Self.minute(0, 600), Self.minute(1, 700), Self.minute(2, 800)])
        let before = GapFill.MeasuredMinute(minuteStartMilliseconds: Self.m, joules: 240, coveredMilliseconds: 40_000)
        let counter = 360 + 700 + 800 + 250.0
        let parts = GapFill.parts(from: from, to: to, counterJoules: counter, figures: figures, before: before)
        #expect(parts.count == 4)
        #expect(
            parts[0]
                == BackfillPart(
                    startMilliseconds: from, endMilliseconds: Self.m + 60_000, joules: 360, source: .minutes))
        #expect(parts[1].joules == 700 && parts[1].source == .minutes)
        #expect(parts[2].joules == 800 && parts[2].source == .minutes)
        #expect(parts[3].startMilliseconds == Self.m + 180_000 && parts[3].source == .counter)
        #expect(abs(parts[3].joules - 250) < 1e-9)
        #expect(abs(Self.sum(parts) - counter) < 1e-9)
        // Without the measured part of minute 0, that minute cannot be split: the counter covers it.
        let unsplit = GapFill.parts(from: from, to: to, counterJoules: counter, figures: figures)
        #expect(unsplit.first?.source == .counter)
        #expect(abs(Self.sum(unsplit) - counter) < 1e-9)
    }

    @Test("figures that cover the whole gap and agree with a coarse counter stand as they are")
    func wholeGapFigures() {
        // The gap: 40 s into minute 0 to 25 s into minute 2, both edge minutes split by what the
        // samples measured. A Gen1 counter counts whole watt-minutes: 59 J short of the figures.
        let from = Self.m + 40_000
        let to = Self.m + 145_000
        let figures = DeviceMinutes(
            source: .minutes, intervals: [Self.minute(0, 600), Self.minute(1, 700), Self.minute(2, 900)])
        let before = GapFill.MeasuredMinute(minuteStartMilliseconds: Self.m, joules: 400, coveredMilliseconds: 40_000)
        let after = GapFill.MeasuredMinute(
            minuteStartMilliseconds: Self.m + 120_000, joules: 500, coveredMilliseconds: 35_000)
        let exact = 200 + 700 + 400.0
        let parts = GapFill.parts(
            from: from, to: to, counterJoules: exact - 59, figures: figures, before: before, after: after)
        #expect(parts.map(\.joules) == [200, 700, 400])
        #expect(parts.allSatisfy { $0.source == .minutes })
        #expect(parts.first?.startMilliseconds == from && parts.last?.endMilliseconds == to)
        // Beyond the counter's rounding they do not agree: the counter's figure is kept.
        let far = GapFill.parts(
            from: from, to: to, counterJoules: exact - 500, figures: figures, before: before, after: after)
        #expect(abs(Self.sum(far) - (exact - 500)) < 1e-9)
    }

    @Test("figures that contradict the counter are not used; rounding is absorbed")
    func contradiction() {
        let from = Self.m - 10_000
        let to = Self.m + 70_000
        let wrong = DeviceMinutes(source: .minutes, intervals: [Self.minute(0, 5000)])
        let parts = GapFill.parts(from: from, to: to, counterJoules: 800, figures: wrong)
        #expect(parts.allSatisfy { $0.source == .counter })
        #expect(abs(Self.sum(parts) - 800) < 1e-9)
        // 2 J over the counter: the minute is scaled to it, the rest of the gap gets nothing.
        let rounded = DeviceMinutes(source: .minutes, intervals: [Self.minute(0, 802)])
        let scaled = GapFill.parts(from: from, to: to, counterJoules: 800, figures: rounded)
        #expect(abs(Self.sum(scaled) - 800) < 1e-9)
        #expect(scaled.first { $0.source == .minutes }.map { abs($0.joules - 800) < 1e-9 } == true)
    }

    @Test("history without a counter: the records' minutes (edges less what was measured), the rest stays a gap")
    func historyOnly() {
        let from = Self.m + 30_000
        let to = Self.m + 130_000
        let records = DeviceMinutes(
            source: .history, intervals: [Self.minute(0, 600), Self.minute(1, 620), Self.minute(2, 640)])
        let before = GapFill.MeasuredMinute(minuteStartMilliseconds: Self.m, joules: 300, coveredMilliseconds: 30_000)
        let after = GapFill.MeasuredMinute(
            minuteStartMilliseconds: Self.m + 120_000, joules: 500, coveredMilliseconds: 50_000)
        let parts = GapFill.parts(
            from: from, to: to, counterJoules: nil, figures: records, before: before, after: after)
        #expect(parts.map(\.joules) == [300, 620, 140])
        #expect(parts.allSatisfy { $0.source == .history })
        // Without the measure after the gap its last minute is left out.
        let cut = GapFill.parts(from: from, to: to, counterJoules: nil, figures: records, before: before)
        #expect(cut.map(\.joules) == [300, 620])
    }

    @Test("a device's minutes out of line with ours are used where they lie whole in the gap")
    func unalignedMinutes() {
        let from = Self.m
        let to = Self.m + 180_000
        let shifted = DeviceMinutes(
            source: .minutes,
            intervals: [
                DeviceMinutes.Interval(
                    startMilliseconds: Self.m + 45_000, endMilliseconds: Self.m + 105_000, joules: 600)
            ])
        let parts = GapFill.parts(from: from, to: to, counterJoules: 1800, figures: shifted)
        #expect(abs(Self.sum(parts) - 1800) < 1e-9)
        let fromMinutes = parts.filter { $0.source == .minutes }
        #expect(abs(Self.sum(fromMinutes) - 600) < 1e-9)
        #expect(fromMinutes.map(\.startMilliseconds) == [Self.m + 45_000, Self.m + 60_000])
    }
}

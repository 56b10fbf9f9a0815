import EnergyModel
import Testing

/// What the counters make of a gap between two samples: the device's counter bridges it when
/// the device stayed up and the rise is believable; otherwise it stays a gap.
@Suite("Gaps judged by the device's counter")
struct GapJudgementTests {
    static let start: Int64 = 1_700_000_040_000

    /// A node sampled at 1 Hz for `seconds` at `watts`, its counter the exact integral, then
    /// one sample `gap` seconds later carrying `counterAfter` (default: the exact count) and
    /// `uptime`.
    static func run(
        seconds: Int64 = 90, watts: Double = 36, gap: Int64, counterAfter: ((Double) -> Double)? = nil,
        uptime: Double?, keepsHistory: Bool = false, monotonicAfter: Int64? = nil
    ) -> (EnergyCounters, SampleStep) {
        var counters = EnergyCounters()
        let base = 1000.0
        for second in 0..<seconds {
            let time = start + second * 1000
            _ = counters.advance(
                Sample(
                    node: "n", timestampMilliseconds: time,
                    reading: Reading(watts: watts, energyWattHours: base + watts * Double(second) / 3600),
                    monotonicMilliseconds: second * 1000),
                maxGapMilliseconds: 3000, device: DeviceCounterContext(uptimeSeconds: 5000 + Double(second)))
        }
        let last = seconds - 1
        let exact = base + watts * Double(last + gap) / 3600
        let step = counters.advance(
            Sample(
                node: "n", timestampMilliseconds: start + (last + gap) * 1000,
                reading: Reading(watts: watts, energyWattHours: counterAfter.map { $0(exact) } ?? exact),
                monotonicMilliseconds: monotonicAfter),
            maxGapMilliseconds: 3000,
            device: DeviceCounterContext(uptimeSeconds: uptime, keepsHistory: keepsHistory))
        return (counters, step)
    }

    @Test("the counter bridges a gap of a device that stayed up: the energy is added and placed")
    func bridged() throws {
        let before = Self.run(gap: 0 + 1, uptime: 6000).0.energyJoules
        let (counters, step) = Self.run(gap: 150, uptime: 6000)
        let gap = try #require(step.gap)
        #expect(gap.outcome == .backfilled)
        #expect(abs(gap.backfilledJoules - 36 * 150) < 0.01)
        #expect(gap.seconds == [.backfilled: 150])
        #expect(abs(counters.energyJoules - (before - 36 + 36 * 150)) < 0.1)
        #expect(gap.parts.allSatisfy { $0.startMilliseconds >= gap.fromMilliseconds && $0.endMilliseconds <= gap.toMilliseconds })
        #expect(gap.parts.reduce(Int64(0)) { $0 + $1.milliseconds } == 150_000)
    }

    @Test("a reboot in the gap (the uptime is shorter than the gap) leaves the gap a gap")
    func rebooted() throws {
        let (counters, step) = Self.run(gap: 150, counterAfter: { _ in 0.2 }, uptime: 20)
        let gap = try #require(step.gap)
        #expect(gap.outcome == .deviceRebooted)
        #expect(gap.parts.isEmpty && gap.seconds == [.deviceRebooted: 150])
        #expect(abs(counters.energyJoules - 36 * 89) < 0.01)
        // A counter that happens to stand higher after the reboot does not bridge it either.
        let (_, higher) = Self.run(gap: 150, counterAfter: { $0 + 0.1 }, uptime: 100)
        #expect(higher.gap?.outcome == .deviceRebooted)
    }

    @Test("a counter that fell while the device stayed up, or rose faster than the meter can count, is refused")
    func refused() throws {
        let (fell, down) = Self.run(gap: 150, counterAfter: { _ in 900 }, uptime: 6000)
        #expect(down.gap?.outcome == .implausible)
        #expect(abs(fell.energyJoules - 36 * 89) < 0.01)
        let (jumped, up) = Self.run(gap: 150, counterAfter: { $0 + 1e6 }, uptime: 6000)
        #expect(up.gap?.outcome == .implausible)
        #expect(up.gap?.parts.isEmpty == true)
        #expect(abs(jumped.energyJoules - 36 * 89) < 0.01)
    }

    @Test("without an uptime, or without a counter on either side, nothing bridges the gap")
    func noCounter() throws {
        #expect(Self.run(gap: 60, uptime: nil).1.gap?.outcome == .noCounter)
        var counters = EnergyCounters()
        _ = counters.advance(
            Sample(node: "n", timestampMilliseconds: Self.start, reading: Reading(watts: 5)), maxGapMilliseconds: 3000,
            device: DeviceCounterContext(uptimeSeconds: 100))
        let step = counters.advance(
            Sample(node: "n", timestampMilliseconds: Self.start + 60_000, reading: Reading(watts: 5, energyWattHours: 3)),
            maxGapMilliseconds: 3000, device: DeviceCounterContext(uptimeSeconds: 160))
        #expect(step.gap?.outcome == .noCounter)
    }

    @Test("a wall clock stepped during the gap: its energy cannot be placed")
    func steppedClock() {
        // 150 s by the wall clock, 20 s by the monotonic clock.
        let (_, step) = Self.run(gap: 150, uptime: 6000, monotonicAfter: 89_000 + 20_000)
        #expect(step.gap?.outcome == .implausible)
    }

    @Test("a device that keeps a history: the gap waits for it")
    func awaitsHistory() throws {
        let (counters, step) = Self.run(gap: 150, uptime: 6000, keepsHistory: true)
        let gap = try #require(step.gap)
        #expect(gap.awaitsHistory && gap.parts.isEmpty && gap.seconds.isEmpty)
        #expect(gap.counterOutcome == .backfilled && gap.counterJoules != nil)
        #expect(abs(counters.energyJoules - 36 * 89) < 0.01)
    }

    @Test("the minute's measure: split at minute boundaries, handed over when a minute is complete")
    func minuteMeasure() {
        var counters = EnergyCounters()
        var closed: [GapFill.MeasuredMinute] = []
        // From 50 s into a minute to 10 s into the next, at 60 W.
        for second in Int64(50)...70 {
            let step = counters.advance(
                Sample(node: "n", timestampMilliseconds: Self.start + second * 1000 + 500, reading: Reading(watts: 60)),
                maxGapMilliseconds: 3000, device: DeviceCounterContext())
            closed += step.closedMinutes
        }
        #expect(closed.count == 1)
        #expect(closed.first?.minuteStartMilliseconds == Self.start)
        #expect(closed.first.map { abs($0.joules - 60 * 9.5) < 1e-9 } == true)
        #expect(closed.first?.coveredMilliseconds == 9_500)
        #expect(counters.minuteStartMilliseconds == Self.start + 60_000)
        #expect(abs(counters.minuteJoules - 60 * 10.5) < 1e-9)
        #expect(abs(counters.energyJoules - 60 * 20) < 1e-9)
    }
}

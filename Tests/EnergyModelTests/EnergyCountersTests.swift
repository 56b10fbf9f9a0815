import EnergyModel
import Testing

@Suite("Energy counters")
struct EnergyCountersTests {
    @Test("trapezoids between close samples; gaps longer than 3 intervals are not bridged")
    func integration() {
        var counter = EnergyCounters()
        let watts: [(Int64, Double)] = [(0, 10), (1000, 20), (2000, 20), (10_000, 50), (11_000, 50)]
        for (t, w) in watts {
            counter.add(Sample(node: "n", timestampMilliseconds: t, reading: Reading(watts: w)), maxGapMilliseconds: 3000)
        }
        // 15 + 20 + (gap of 8 s not bridged) + 50
        #expect(counter.energyJoules == 85)
    }

    @Test("a device counter reset (a reboot: the uptime went down) is a new baseline, never a negative step")
    func deviceReboot() {
        var counter = EnergyCounters()
        let totals: [Double] = [100, 100.5, 101, 0.2, 0.7]
        let uptimes: [Double] = [50, 51, 52, 1, 2]
        var previous = 0.0
        for (index, wh) in totals.enumerated() {
            _ = counter.add(
                Sample(
                    node: "n", timestampMilliseconds: Int64(index) * 1000, reading: Reading(watts: 1, energyWattHours: wh)),
                maxGapMilliseconds: 3000, device: DeviceCounterContext(uptimeSeconds: uptimes[index]))
            #expect(counter.deviceJoules >= previous)
            previous = counter.deviceJoules
        }
        // 100 Wh at first sight (50 s after boot: 8 kW could count it), +1 Wh, then 0.2 Wh since the reboot, +0.5 Wh.
        #expect(abs(counter.deviceJoules - (100 + 1 + 0.2 + 0.5) * 3600) < 1e-6)
    }

    @Test("old or repeated samples are ignored")
    func ordering() {
        var counter = EnergyCounters()
        counter.add(Sample(node: "n", timestampMilliseconds: 2000, reading: Reading(watts: 10)), maxGapMilliseconds: 3000)
        #expect(counter.add(Sample(node: "n", timestampMilliseconds: 2000, reading: Reading(watts: 99)), maxGapMilliseconds: 3000) == 0)
        #expect(counter.add(Sample(node: "n", timestampMilliseconds: 1000, reading: Reading(watts: 99)), maxGapMilliseconds: 3000) == 0)
        #expect(counter.lastWatts == 10)
    }

    @Test("the time between samples is read off the monotonic clock: a wall clock set back or a day ahead neither stops nor inflates the energy")
    func monotonicGaps() {
        var counters = EnergyCounters()
        let start: Int64 = 1_800_000_000_000
        // Ten samples a second apart on the monotonic clock, 100 W; the wall stamps jump back
        // 120 s after the third and a day ahead after the seventh.
        let wall: [Int64] = (0..<10).map { index in
            let base = start + Int64(index) * 1000
            if index >= 7 { return base + 86_400_000 }
            if index >= 3 { return base - 120_000 }
            return base
        }
        for (index, stamp) in wall.enumerated() {
            counters.add(
                Sample(
                    node: "n", timestampMilliseconds: stamp, reading: Reading(watts: 100),
                    monotonicMilliseconds: 5_000 + Int64(index) * 1000),
                maxGapMilliseconds: 3000)
        }
        #expect(abs(counters.energyJoules - 900) < 1e-9, "\(counters.energyJoules)")
        // Without monotonic times (across a restart) the wall clock links the samples.
        var restarted = counters
        restarted.lastMonotonicMilliseconds = nil
        let added = restarted.add(
            Sample(node: "n", timestampMilliseconds: wall[9] + 1000, reading: Reading(watts: 100)),
            maxGapMilliseconds: 3000)
        #expect(added == 100)
    }
}

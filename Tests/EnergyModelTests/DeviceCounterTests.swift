import EnergyModel
import Testing

/// The rules for the device's own counter (`EnergyCounters.judgeDeviceCounter`): what is
/// accepted, what is refused and why, and that no sequence of readings makes `deviceJoules`
/// grow faster than the meter's maximum power.
@Suite("Device counter rules")
struct DeviceCounterTests {
    /// A plug's bound, as `MeterRating.plug`.
    static let plug = 8_000.0

    /// Adds a reading of `wattHours` at second `second` with `uptime`; returns the verdict.
    @discardableResult
    static func read(
        _ counters: inout EnergyCounters, _ second: Int64, _ wattHours: Double?, uptime: Double? = nil,
        maximumWatts: Double = plug
    ) -> DeviceCounterVerdict {
        counters.add(
            Sample(
                node: "n", timestampMilliseconds: second * 1000,
                reading: Reading(watts: 100, energyWattHours: wattHours)),
            maxGapMilliseconds: 3000, device: DeviceCounterContext(maximumWatts: maximumWatts, uptimeSeconds: uptime)
        ).counter
    }

    static func reason(_ verdict: DeviceCounterVerdict) -> DeviceCounterRefusal.Reason? {
        if case .refused(let refusal) = verdict { return refusal.reason }
        return nil
    }

    /// Whether `verdict` accepted the reading as `kind`, adding `joules` (to a millijoule).
    static func accepted(_ verdict: DeviceCounterVerdict, _ kind: DeviceCounterVerdict.Acceptance, joules: Double)
        -> Bool
    {
        guard case .accepted(let how, let added) = verdict else { return false }
        return how == kind && abs(added - joules) < 1e-3
    }

    @Test(
        "the first counter is a baseline; it adds the count since boot only when the uptime shows the device could count it"
    )
    func firstValue() {
        var fresh = EnergyCounters()
        #expect(Self.accepted(Self.read(&fresh, 100, 5_000), .first, joules: 0))
        #expect(fresh.deviceJoules == 0 && fresh.lastDeviceWattHours == 5_000)
        var booted = EnergyCounters()
        // 0.2 Wh an hour after boot: possible for 8 kW.
        #expect(Self.accepted(Self.read(&booted, 100, 0.2, uptime: 3600), .first, joules: 720))
        var kept = EnergyCounters()
        // 5,000 Wh 10 s after boot: the device kept its count across the boot; a baseline only.
        #expect(Self.accepted(Self.read(&kept, 100, 5_000, uptime: 10), .first, joules: 0))
    }

    @Test(
        "a counter that is not a finite, non-negative count a meter can reach is refused as invalid",
        arguments: [
            Double.nan, .infinity, -.infinity, -0.001, 1e308, Double.greatestFiniteMagnitude,
            8_000 * 100 * 365.25 * 24 * 1.01,
        ])
    func invalid(value: Double) {
        var counters = EnergyCounters()
        Self.read(&counters, 1, 100)
        #expect(Self.reason(Self.read(&counters, 2, value)) == .invalid)
        #expect(counters.deviceJoules == 0 && counters.lastDeviceWattHours == 100)
        // The next honest reading goes on from the baseline.
        #expect(Self.accepted(Self.read(&counters, 3, 100.5), .increase, joules: 1800))
    }

    @Test("a rise faster than the meter's maximum power is refused as a jump; honest readings around it count")
    func jump() {
        var counters = EnergyCounters()
        Self.read(&counters, 0, 100)
        #expect(Self.accepted(Self.read(&counters, 1, 100.1), .increase, joules: 0.1 * 3600))
        // 8 kW for 1 s (plus 2 s of slack) adds at most 6.67 Wh.
        #expect(Self.reason(Self.read(&counters, 2, 1e9)) == .jump)
        #expect(Self.reason(Self.read(&counters, 3, 120)) == .jump)
        #expect(Self.accepted(Self.read(&counters, 4, 100.2), .increase, joules: 0.1 * 3600))
        #expect(abs(counters.deviceJoules - 0.2 * 3600) < 1e-6)
        // A smaller bound (a configured maximum) refuses sooner.
        #expect(Self.reason(Self.read(&counters, 5, 100.3, maximumWatts: 100)) == .jump)
    }

    @Test("the time of a value is when it first appeared: a counter updated now and then may add all the time since")
    func sparseUpdates() {
        var counters = EnergyCounters()
        Self.read(&counters, 0, 100)
        for second in Int64(1)...59 { #expect(Self.accepted(Self.read(&counters, second, 100), .increase, joules: 0)) }
        // 60 s at 3 kW = 50 Wh: more than one second allows, within the minute since 100 Wh appeared.
        #expect(Self.accepted(Self.read(&counters, 60, 150), .increase, joules: 50 * 3600))
    }

    @Test("a fall is a reboot only when the uptime went down; the count since the reboot is bounded by the uptime")
    func reboot() {
        var counters = EnergyCounters()
        Self.read(&counters, 0, 100, uptime: 5_000)
        let base = counters.deviceJoules
        Self.read(&counters, 1, 101, uptime: 5_001)
        // No uptime: cannot tell a reboot from a lie.
        #expect(Self.reason(Self.read(&counters, 2, 0.5)) == .decrease)
        // Uptime goes on: not a reboot.
        #expect(Self.reason(Self.read(&counters, 3, 0.5, uptime: 5_003)) == .decrease)
        #expect(counters.lastDeviceWattHours == 101)
        // Uptime 1 s: rebooted after the last reading; 10 Wh in 1 s (and 2 s of slack) is beyond 8 kW.
        #expect(Self.reason(Self.read(&counters, 4, 10, uptime: 1)) == .jump)
        // A reboot with a believable count since the boot: added whole.
        #expect(Self.accepted(Self.read(&counters, 5, 0.002, uptime: 2), .reboot, joules: 0.002 * 3600))
        #expect(Self.accepted(Self.read(&counters, 6, 0.004, uptime: 3), .increase, joules: 0.002 * 3600))
        #expect(abs(counters.deviceJoules - base - (1 + 0.004) * 3600) < 1e-6)
    }

    @Test("a reboot without downtime (uptime 0 right after a reading) is seen by the boot time moving")
    func instantReboot() {
        var counters = EnergyCounters()
        Self.read(&counters, 100, 50, uptime: 15)
        // One second later the device reports uptime 0: it booted 16 s after its last boot.
        #expect(Self.accepted(Self.read(&counters, 101, 0, uptime: 0), .reboot, joules: 0))
    }

    @Test("after a restart, a fall is a reboot when the device booted after the last stored reading")
    func rebootAcrossRestart() {
        // As loaded from the store: no boot time known.
        var counters = EnergyCounters(
            energyJoules: 0, deviceJoules: 7200, lastTimestampMilliseconds: 1_000_000, lastDeviceWattHours: 2)
        #expect(Self.reason(Self.read(&counters, 1_300, 1, uptime: 600)) == .decrease)
        #expect(Self.accepted(Self.read(&counters, 1_301, 0.001, uptime: 60), .reboot, joules: 3.6))
    }

    @Test("readings that go on consistently from a refused value make it the new baseline; the step adds nothing")
    func rebaseline() {
        var counters = EnergyCounters()
        Self.read(&counters, 0, 500)
        // Reset by hand (no reboot): 0, then rising.
        var verdicts: [DeviceCounterVerdict] = []
        for step in Int64(0)...Int64(EnergyCounters.rebaselineReadings) {
            verdicts.append(Self.read(&counters, 1 + step, Double(step) * 0.001, uptime: 10_001 + Double(step)))
        }
        #expect(verdicts.dropLast().allSatisfy { Self.reason($0) == .decrease }, "\(verdicts)")
        let last = Double(EnergyCounters.rebaselineReadings) * 0.001
        #expect(verdicts.last.map { Self.accepted($0, .rebaseline, joules: last * 3600) } == true)
        #expect(counters.lastDeviceWattHours == last)
        #expect(abs(counters.deviceJoules - last * 3600) < 1e-9)
        // An interrupted run starts again: a lie in between resets the confirmation.
        var lying = EnergyCounters()
        Self.read(&lying, 0, 500)
        for second in Int64(1)...30 {
            let value = second % 5 == 0 ? 1e9 : 0
            #expect(!Self.read(&lying, second, value, uptime: 10_000 + Double(second)).isAccepted, "second \(second)")
        }
        #expect(lying.deviceJoules == 0)
    }

    /// A small deterministic generator (this target has no test support module).
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test(
        "no sequence of hostile readings makes the device total fall, leave the finite numbers, or grow faster than the meter"
    )
    func hostileSequences() {
        var generator = Generator(state: 0x00C0_FFEE_1234_5678)
        let odd: [Double] = [.nan, .infinity, -1, 0, 1e308, 1e15, 1e9, 3.5e9, 0.001]
        for round in 0..<200 {
            var counters = EnergyCounters()
            var second: Int64 = 1_700_000_000
            var truth = Double.random(in: 0...10_000, using: &generator)
            var uptime = Double.random(in: 0...100_000, using: &generator)
            // An honest baseline first (no uptime: it adds nothing); every later reading may lie.
            Self.read(&counters, second, truth)
            var previous = counters.deviceJoules
            let start = second
            for _ in 0..<300 {
                let elapsed = Int64.random(in: 1...5, using: &generator)
                second += elapsed
                uptime += Double(elapsed)
                truth += 8_000 * Double(elapsed) / 3600 * Double.random(in: 0...1, using: &generator)
                var value: Double? = truth
                switch Int.random(in: 0..<10, using: &generator) {
                case 0: value = odd.randomElement(using: &generator)
                case 1: value = truth + Double.random(in: -1e6...1e6, using: &generator)
                case 2:
                    truth = 0
                    uptime = 0
                    value = 0
                case 3: value = nil
                default: break
                }
                let reportedUptime: Double? =
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: nil
                    case 1: Double.random(in: -10...1e9, using: &generator)
                    default: uptime
                    }
                Self.read(&counters, second, value, uptime: reportedUptime)
                let added = counters.deviceJoules - previous
                #expect(counters.deviceJoules.isFinite, "round \(round)")
                #expect(added >= 0, "round \(round): the total fell by \(-added) J")
                previous = counters.deviceJoules
            }
            // Never more than the meter could add in the whole run, plus each reading's slack:
            // the per-reading bounds add up, whatever uptimes the device claims.
            let seconds = Double(second - start)
            let bound = Self.plug * (seconds + EnergyCounters.slackSeconds * 300 * 2)
            #expect(counters.deviceJoules <= bound, "round \(round): \(counters.deviceJoules) J in \(seconds) s")
        }
    }
}

import Foundation

/// The simulated device's counters, exact: the energy counter is the integral of the power it
/// serves since its boot (`joules(from:to:)`, load steps included) plus its count at that boot,
/// its per-minute figures the same integral over each whole minute, and its uptime the time
/// since that boot. The `reboot` fault boots it every 15 s from its creation: the counter then
/// starts again from 0 and the uptime with it.
extension SimulatedPlug {
    /// Seconds between the boots of the `reboot` fault.
    static let rebootPeriodSeconds = 15.0

    /// The boot in effect at `now` (unix seconds), and the counter at that boot (watt-hours).
    func boot(at now: Double) -> (time: Double, wattHours: Double) {
        let (created, initial) = counter.withLock { ($0.createdAt, $0.initialWattHours) }
        guard specification.fault == .reboot, now - created >= Self.rebootPeriodSeconds else { return (created, initial) }
        let boots = ((now - created) / Self.rebootPeriodSeconds).rounded(.down)
        return (created + boots * Self.rebootPeriodSeconds, 0)
    }

    /// Seconds since the device (re)booted.
    func uptime(now: Double) -> Double {
        now - boot(at: now).time
    }

    /// The energy counter at `now`, watt-hours: exact to the power served.
    public func energyWattHours(at now: Double) -> Double {
        let boot = boot(at: now)
        let offset = counter.withLock { $0.offsetWattHours }
        return boot.wattHours + joules(from: boot.time, to: now) / 3600 + offset
    }

    /// The energy of the minute `[end - 60, end)` (unix seconds) as the device counts it,
    /// joules: nothing before its boot.
    func minuteJoules(endingAt end: Double, now: Double) -> Double {
        let boot = boot(at: now).time
        return joules(from: max(end - 60, boot), to: max(end, boot))
    }

    /// A reading at unix time `now` for a status answer: the power, voltage, current and the
    /// counter, after the gap faults have had their say.
    func read(now: Double) -> (watts: Double, volts: Double, amps: Double, energyWattHours: Double) {
        let watts = self.watts(at: now)
        let volts = 230 + 2.5 * sin(2 * Double.pi * now / 47)
        let pause = counter.withLock { state -> Bool in
            defer { state.lastStatus = max(state.lastStatus ?? now, now) }
            return state.lastStatus.map { now - $0 >= 5 } ?? false
        }
        if pause, specification.fault == .gapCounterDrop || specification.fault == .gapCounterJump {
            let before = energyWattHours(at: now)
            counter.withLock { state in
                state.offsetWattHours += specification.fault == .gapCounterDrop ? -before : 1e6
            }
        }
        return (watts, volts, watts / volts / 0.92, energyWattHours(at: now))
    }
}

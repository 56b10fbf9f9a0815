import EnergyModel

extension PlugSession {
    /// The device counter as last read by this session, and when (monotonic nanoseconds).
    struct CounterWatch {
        var lastWattHours: Double?
        var readAt: Int64?
    }

    /// The device's uptime for a reading whose energy counter is `counter`, as the ledger
    /// needs it to tell a reboot from a lie (`EnergyCounters.judgeDeviceCounter`) and to bridge
    /// a gap with the counter (`EnergyCounters.judgeGap`): `known` when this poll read it anyway
    /// (every Gen1 status, the Gen2+ health read once a minute); else, for a Gen2+ device whose
    /// counter fell below the value this session read last, the first counter this session
    /// reads, or the first after no counter was read for `pauseMilliseconds` (a gap), one
    /// `Sys.GetStatus` at once, within the poll's time. A counter that rises between polls
    /// needs no uptime: no request then.
    func deviceUptime(counter: Double?, known: Double?, pauseMilliseconds: Int64, deadline: Int64) async -> Double? {
        let now = MonotonicClock.nowNanoseconds()
        let (previous, readAt) = counterWatch.withLock { watch -> (Double?, Int64?) in
            let previous = (watch.lastWattHours, watch.readAt)
            if let counter {
                watch.lastWattHours = counter
                watch.readAt = now
            }
            return previous
        }
        if let known { return known }
        guard let counter, readsRPC else { return nil }
        let afterPause = readAt.map { now - $0 > pauseMilliseconds * 1_000_000 } ?? true
        if let previous, counter >= previous, !afterPause { return nil }
        guard let (body, _) = try? await rpc("Sys.GetStatus", id: nil, deadline: deadline) else { return nil }
        return ShellyParser.sysUptime(body)
    }
}

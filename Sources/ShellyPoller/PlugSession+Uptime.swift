import EnergyModel

extension PlugSession {
    /// The device counter as last read by this session.
    struct CounterWatch {
        var lastWattHours: Double?
    }

    /// The device's uptime for a reading whose energy counter is `counter`, as the ledger
    /// needs it to tell a reboot from a lie (`EnergyCounters.judgeDeviceCounter`): `known`
    /// when this poll read it anyway (every Gen1 status, the Gen2+ health read once a minute);
    /// else, for a Gen2+ device whose counter fell below the value this session read last, or
    /// the first counter this session reads, one `Sys.GetStatus` at once, within the poll's
    /// time. A counter that rises needs no uptime: no request then.
    func deviceUptime(counter: Double?, known: Double?, deadline: Int64) async -> Double? {
        let previous = counterWatch.withLock { watch -> Double? in
            let previous = watch.lastWattHours
            if let counter { watch.lastWattHours = counter }
            return previous
        }
        if let known { return known }
        guard let counter, readsRPC else { return nil }
        if let previous, counter >= previous { return nil }
        guard let (body, _) = try? await rpc("Sys.GetStatus", id: nil, deadline: deadline) else { return nil }
        return ShellyParser.sysUptime(body)
    }
}

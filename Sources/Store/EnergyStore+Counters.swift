import EnergyModel

extension EnergyStore {
    /// The running counters of every node, as last committed. A counter that no meter can
    /// have reached (not a finite number, negative, above `EnergyCounters.plausibleJoulesLimit`,
    /// of another type) is repaired: it starts again from 0 and, for the device counter, from
    /// a new baseline at the next good reading; each repair is logged and counted once, and
    /// the repaired counters are written back with the next tick.
    public func loadCounters() async throws(StoreError) -> [String: EnergyCounters] {
        try await run { () throws(StoreError) in
            let statement = try self.database.prepare(
                "SELECT name, energy_joules, device_joules, last_ts_ms, last_watts, last_device_wh, "
                    + "last_device_reading_ms, minute_ms, minute_joules, minute_covered_ms, emissions_grams, cost, "
                    + "cost_currency FROM node"
            )
            var counters: [String: EnergyCounters] = [:]
            while try statement.step() {
                let name = statement.text(0)
                let (counter, repaired) = Self.counters(statement)
                counters[name] = counter
                guard !repaired.isEmpty else { continue }
                let stored = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map { statement.text(Int32($0)) }.joined(
                    separator: ", ")
                self.faults.badRow(
                    .node, key: name, node: name, startMilliseconds: nil,
                    reason: "\(repaired.joined(separator: ", ")) out of range (\(stored))",
                    action: "reset: counted again from 0, the device counter from a new baseline at the next reading")
            }
            return counters
        }
    }

    /// The counters on the current row of `loadCounters`' statement, and the columns repaired.
    private static func counters(_ row: Statement) -> (EnergyCounters, [String]) {
        var repaired: [String] = []
        func joules(_ column: Int32, _ name: String) -> Double {
            guard let value = row.storedDouble(column), (0...EnergyCounters.plausibleJoulesLimit).contains(value) else {
                repaired.append(name)
                return 0
            }
            return value
        }
        /// A nullable column: NULL is no value, anything else must be `value`.
        func optional<T>(_ column: Int32, _ name: String, _ value: T?) -> T? {
            guard !row.isNull(column) else { return nil }
            if value == nil { repaired.append(name) }
            return value
        }
        let energy = joules(1, "energy_joules")
        let device = joules(2, "device_joules")
        let last = optional(3, "last_ts_ms", row.storedInt(3).flatMap { StoredSample.times.contains($0) ? $0 : nil })
        let watts = optional(4, "last_watts", row.storedDouble(4).flatMap { MinuteRow.watts.contains($0) ? $0 : nil })
        let counts = 0...EnergyCounters.plausibleJoulesLimit / 3600
        let storedWattHours = row.storedDouble(5).flatMap { counts.contains($0) ? $0 : nil }
        var deviceWattHours = optional(5, "last_device_wh", storedWattHours)
        // A device total that starts again needs a new baseline too.
        if repaired.contains("device_joules") { deviceWattHours = nil }
        // When the last counter reading was taken, and what the samples measured in the minute of
        // the last sample: a gap after a restart needs both; a value out of range only costs
        // that gap its bridge or its edge minute.
        let reading = optional(
            6, "last_device_reading_ms", row.storedInt(6).flatMap { StoredSample.times.contains($0) ? $0 : nil })
        let minute = optional(
            7, "minute_ms",
            row.storedInt(7).flatMap {
                MinuteRow.minutes.contains(EnergyStore.floorDiv($0, 60_000)) && $0 % 60_000 == 0 ? $0 : nil
            })
        let minuteJoules = optional(
            8, "minute_joules",
            row.storedDouble(8).flatMap { $0 >= 0 && $0 <= MinuteRow.watts.upperBound * 60 ? $0 : nil })
        let minuteCovered = optional(
            9, "minute_covered_ms", row.storedInt(9).flatMap { (0...60_000).contains($0) ? $0 : nil })
        var counters = EnergyCounters(
            energyJoules: energy, deviceJoules: device, lastTimestampMilliseconds: last, lastWatts: watts,
            lastDeviceWattHours: deviceWattHours, lastDeviceReadingMilliseconds: reading)
        // Emissions and cost: a value no meter can reach starts again from 0, as the energy counter does.
        counters.emissionsGrams = joules(10, "emissions_grams")
        counters.cost = joules(11, "cost")
        counters.costCurrency = row.isNull(12) ? nil : row.text(12)
        if let minute, let minuteJoules, let minuteCovered, let last, EnergyStore.minuteStart(last) == minute {
            counters.minuteStartMilliseconds = minute
            counters.minuteJoules = minuteJoules
            counters.minuteCoveredMilliseconds = minuteCovered
        }
        return (counters, repaired)
    }
}

import EnergyModel

/// One meter's power within a node's tick (nodes with several meters).
public struct MeterReading: Sendable, Equatable {
    /// The meter's name from the configuration.
    public var meter: String
    /// Its watts this tick; nil when it gave no sample.
    public var watts: Double?

    /// Creates a meter reading.
    public init(meter: String, watts: Double?) {
        self.meter = meter
        self.watts = watts
    }
}

extension PlugOutcome {
    /// The node's outcome from its meters' outcomes, read in the same tick: the sum of their
    /// readings when every meter answered, else a failure (a gap, never a partial sum).
    ///
    /// Power, current, the device energy counters and their maximum power add up; the voltage
    /// is the meters' mean.
    /// A figure some meter does not report is left out. The sample's time is the mean of the
    /// meters' times; the poll took as long as the slowest meter.
    static func combine(node: String, meters: [(name: String, outcome: PlugOutcome)]) -> PlugOutcome {
        let readings = meters.map { meter -> MeterReading in
            if case .success(let sample) = meter.outcome.result { return MeterReading(meter: meter.name, watts: sample.reading.watts) }
            return MeterReading(meter: meter.name, watts: nil)
        }
        let duration = meters.map(\.outcome.durationSeconds).max() ?? 0
        var samples: [Sample] = []
        for meter in meters {
            switch meter.outcome.result {
            case .success(let sample):
                samples.append(sample)
            case .failure(let failure):
                var outcome = PlugOutcome(
                    node: node, result: .failure(PollFailure(failure.reason, "meter \(meter.name): \(failure.message)")),
                    durationSeconds: duration)
                outcome.meters = readings
                return outcome
            }
        }
        func total(_ value: (Reading) -> Double?) -> Double? {
            let values = samples.compactMap { value($0.reading) }
            return values.count == samples.count ? values.reduce(0, +) : nil
        }
        let volts = total(\.volts).map { $0 / Double(max(1, samples.count)) }
        let reading = Reading(
            watts: samples.reduce(0) { $0 + $1.reading.watts }, volts: volts, amps: total(\.amps), energyWattHours: total(\.energyWattHours))
        let time = samples.reduce(0) { $0 + $1.timestampMilliseconds / Int64(max(1, samples.count)) }
        let monotonic = samples.allSatisfy({ $0.monotonicMilliseconds != nil })
            ? samples.reduce(0) { $0 + ($1.monotonicMilliseconds ?? 0) / Int64(max(1, samples.count)) } : nil
        var outcome = PlugOutcome(
            node: node,
            result: .success(
                Sample(node: node, timestampMilliseconds: time, reading: reading, monotonicMilliseconds: monotonic)),
            durationSeconds: duration)
        outcome.meters = readings
        // The summed counter rises at most as fast as all meters together; a reboot shows in
        // the youngest device's uptime (known only when every meter's is).
        let maxima = meters.compactMap(\.outcome.maximumWatts)
        outcome.maximumWatts = maxima.count == meters.count ? maxima.reduce(0, +) : nil
        let uptimes = meters.compactMap(\.outcome.deviceUptimeSeconds)
        outcome.deviceUptimeSeconds = uptimes.count == meters.count ? uptimes.min() : nil
        // The node's minutes are the meters' sums, where every meter has the same minutes (a
        // node's history is not read: its meters' records would have to be summed record by record).
        let minutes = meters.compactMap(\.outcome.deviceMinutes)
        if minutes.count == meters.count, var sum = minutes.first {
            for other in minutes.dropFirst() {
                guard let next = sum + other else {
                    sum = DeviceMinutes(source: sum.source, intervals: [])
                    break
                }
                sum = next
            }
            outcome.deviceMinutes = sum.intervals.isEmpty ? nil : sum
        }
        return outcome
    }
}

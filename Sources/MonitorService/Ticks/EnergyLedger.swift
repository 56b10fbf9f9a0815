import EnergyModel
import ShellyPoller
import Synchronization

/// The running energy counters of every node: loaded from the store at start, advanced by
/// each tick's samples before any consumer sees the tick.
final class EnergyLedger: Sendable {
    private let counters: Mutex<[String: EnergyCounters]>
    private let maxGapMilliseconds: Int64

    /// Starts every node of `nodes` at its stored counters (or empty ones).
    init(nodes: [String], stored: [String: EnergyCounters], maxGapMilliseconds: Int64) {
        var initial: [String: EnergyCounters] = [:]
        for node in nodes { initial[node] = stored[node] ?? EnergyCounters() }
        self.counters = Mutex(initial)
        self.maxGapMilliseconds = maxGapMilliseconds
    }

    /// Adds the report's samples and returns the tick for the consumers. A device counter
    /// the counters refuse (`EnergyCounters.judgeDeviceCounter`, bounded by the meter's
    /// maximum power and told reboots by the device's uptime) leaves its sample: it is
    /// neither stored nor published.
    func advance(_ report: TickReport) -> Tick {
        // Exactly one slot per plug: a tick that waits in the store's backlog during an
        // outage then holds no spare capacity (growing by appending can leave almost half unused).
        var samples: [Sample] = []
        samples.reserveCapacity(report.outcomes.count)
        var failures: [String: PollFailure] = [:]
        var devices: [DeviceCounterContext] = []
        for outcome in report.outcomes {
            switch outcome.result {
            case .success(let sample):
                samples.append(sample)
                devices.append(
                    DeviceCounterContext(
                        maximumWatts: outcome.maximumWatts ?? DeviceCounterContext.defaultMaximumWatts,
                        uptimeSeconds: outcome.deviceUptimeSeconds))
            case .failure(let failure): failures[outcome.node] = failure
            }
        }
        var verdicts: [String: DeviceCounterVerdict] = [:]
        let snapshot = counters.withLock { counters -> [String: EnergyCounters] in
            for index in samples.indices {
                let sample = samples[index]
                let (_, verdict) = counters[sample.node, default: EnergyCounters()].add(
                    sample, maxGapMilliseconds: maxGapMilliseconds, device: devices[index])
                if !verdict.isAccepted { samples[index].reading.energyWattHours = nil }
                if verdict != .absent { verdicts[sample.node] = verdict }
            }
            return counters
        }
        var tick = Tick(report: report, samples: samples, failures: failures, counters: snapshot)
        tick.deviceCounters = verdicts
        return tick
    }
}

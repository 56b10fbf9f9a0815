import EnergyModel
import ShellyPoller
import Synchronization

/// The running energy counters of every node: loaded from the store at start, advanced by
/// each tick's samples before any consumer sees the tick.
final class EnergyLedger: Sendable {
    private let counters: Mutex<[String: EnergyCounters]>
    /// The newest stamp handed on for storing, by node: the store takes each node's samples in
    /// time order, one per stamp, so a sample not newer than it (a wall clock that went back a
    /// little) is integrated but not stored. A step back beyond `PollLoop`'s threshold rewinds
    /// the store and these marks instead (`rewind(to:)`).
    private let storedUntil: Mutex<[String: Int64]>
    private let maxGapMilliseconds: Int64

    /// Starts every node of `nodes` at its stored counters (or empty ones).
    init(nodes: [String], stored: [String: EnergyCounters], maxGapMilliseconds: Int64) {
        var initial: [String: EnergyCounters] = [:]
        var marks: [String: Int64] = [:]
        for node in nodes {
            initial[node] = stored[node] ?? EnergyCounters()
            if let last = stored[node]?.lastTimestampMilliseconds { marks[node] = last }
        }
        self.counters = Mutex(initial)
        self.storedUntil = Mutex(marks)
        self.maxGapMilliseconds = maxGapMilliseconds
    }

    /// Forgets every mark at or after `mark` (unix milliseconds), after the store forgot its
    /// samples from then on: the wall clock was ahead and has been set back.
    func rewind(to mark: Int64) {
        storedUntil.withLock { marks in
            for (node, last) in marks where last >= mark { marks[node] = mark - 1 }
        }
        counters.withLock { counters in
            for (node, counter) in counters where (counter.lastTimestampMilliseconds ?? .min) >= mark {
                counters[node]?.lastTimestampMilliseconds = mark - 1
            }
        }
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
        // In time order per node, one sample per stamp: what the store can take.
        samples = storedUntil.withLock { marks in
            samples.filter { sample in
                guard sample.timestampMilliseconds > marks[sample.node] ?? .min else { return false }
                marks[sample.node] = sample.timestampMilliseconds
                return true
            }
        }
        var tick = Tick(report: report, samples: samples, failures: failures, counters: snapshot)
        tick.deviceCounters = verdicts
        return tick
    }
}

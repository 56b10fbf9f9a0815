import EnergyModel
import ShellyPoller
import Synchronization

/// The running energy counters of every node: loaded from the store at start, advanced by
/// each tick's samples before any consumer sees the tick.
///
/// A sample that ends a gap (more than the bridging limit after the node's last) has the gap
/// judged by its counters (`EnergyCounters.judgeGap`): the energy the device's counter and
/// per-minute figures record for it is added at once. For a device that keeps a history
/// (EMData, EM1Data, Gen1 `em_data.csv`), the history of the gap's minutes is asked for
/// instead (`Tick.historyRequests`), read by the plug's session at its next polls once the
/// gap's last minute is over, and the gap settled with it then: minute by minute where the
/// device has records, the rest as the counter alone would have it.
final class EnergyLedger: Sendable {
    /// A gap whose device's history is being read.
    struct PendingGap {
        var gap: EnergyGap
        var request: HistoryRequest
        /// What the samples measured in the gap's first minute before it, and in its last
        /// minute after it (once that minute is over).
        var before: GapFill.MeasuredMinute?
        var after: GapFill.MeasuredMinute?
        var maximumWatts: Double
    }

    private struct State {
        var counters: [String: EnergyCounters]
        var pending: [String: PendingGap] = [:]
    }

    private let state: Mutex<State>
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
        self.state = Mutex(State(counters: initial))
        self.storedUntil = Mutex(marks)
        self.maxGapMilliseconds = maxGapMilliseconds
    }

    /// The gaps waiting for their device's history, by node (for tests and diagnostics).
    var pendingGaps: [String: EnergyGap] {
        state.withLock { $0.pending.mapValues(\.gap) }
    }

    /// Forgets every mark at or after `mark` (unix milliseconds), after the store forgot its
    /// samples from then on: the wall clock was ahead and has been set back.
    func rewind(to mark: Int64) {
        storedUntil.withLock { marks in
            for (node, last) in marks where last >= mark { marks[node] = mark - 1 }
        }
        state.withLock { state in
            for (node, counter) in state.counters where (counter.lastTimestampMilliseconds ?? .min) >= mark {
                state.counters[node]?.lastTimestampMilliseconds = mark - 1
            }
            state.pending = state.pending.filter { $0.value.gap.toMilliseconds < mark }
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
        var histories: [String: HistoryRead] = [:]
        for outcome in report.outcomes {
            if let history = outcome.history { histories[outcome.node] = history }
            switch outcome.result {
            case .success(let sample):
                samples.append(sample)
                devices.append(
                    DeviceCounterContext(
                        maximumWatts: outcome.maximumWatts ?? DeviceCounterContext.defaultMaximumWatts,
                        uptimeSeconds: outcome.deviceUptimeSeconds, minutes: outcome.deviceMinutes,
                        keepsHistory: outcome.keepsHistory))
            case .failure(let failure): failures[outcome.node] = failure
            }
        }
        var verdicts: [String: DeviceCounterVerdict] = [:]
        var gaps: [String: EnergyGap] = [:]
        var requests: [String: HistoryRequest] = [:]
        let maxGap = maxGapMilliseconds
        let snapshot = state.withLock { state -> [String: EnergyCounters] in
            for index in samples.indices {
                let sample = samples[index]
                let node = sample.node
                let step = state.counters[node, default: EnergyCounters()].advance(
                    sample, maxGapMilliseconds: maxGap, device: devices[index])
                if !step.counter.isAccepted { samples[index].reading.energyWattHours = nil }
                if step.counter != .absent { verdicts[node] = step.counter }
                if var pending = state.pending[node], pending.after == nil,
                    let closed = step.closedMinutes.first(where: {
                        $0.minuteStartMilliseconds == GapFill.minuteStart(pending.gap.toMilliseconds)
                    })
                {
                    pending.after = closed
                    state.pending[node] = pending
                }
                guard let gap = step.gap else { continue }
                guard gap.awaitsHistory else {
                    gaps[node] = gap
                    continue
                }
                if let earlier = state.pending.removeValue(forKey: node) {
                    // A new gap before the history of the last one was read: that one is settled
                    // by the counter alone.
                    gaps[node] = Self.settle(
                        earlier, of: node, history: nil,
                        why: "a new gap began before the device's history could be read", counters: &state.counters)
                }
                let request = HistoryRequest(
                    fromMilliseconds: GapFill.minuteStart(gap.fromMilliseconds),
                    toMilliseconds: GapFill.minuteStart(gap.toMilliseconds) + 60_000)
                state.pending[node] = PendingGap(
                    gap: gap, request: request,
                    before: step.closedMinutes.last {
                        $0.minuteStartMilliseconds == GapFill.minuteStart(gap.fromMilliseconds)
                    },
                    after: nil, maximumWatts: devices[index].maximumWatts)
                requests[node] = request
            }
            for (node, history) in histories {
                guard let pending = state.pending[node], pending.request == history.request else { continue }
                state.pending[node] = nil
                gaps[node] = Self.settle(pending, of: node, history: history, why: nil, counters: &state.counters)
            }
            return state.counters
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
        tick.gaps = gaps
        tick.historyRequests = requests
        return tick
    }

    /// Settles a gap that waited for its device's history: the records where the device has
    /// them (and the counter, when it bridged the gap, for the rest), added to the node's
    /// counters.
    private static func settle(
        _ pending: PendingGap, of node: String, history: HistoryRead?, why: String?,
        counters: inout [String: EnergyCounters]
    ) -> EnergyGap {
        let gap = pending.gap
        var figures: DeviceMinutes?
        var reason = why ?? gap.reason
        switch history {
        case .records(let records, _)?:
            figures = records.believable(maximumWatts: pending.maximumWatts, nowMilliseconds: WallClock.nowMilliseconds())
            reason = figures == nil ? "the device's history holds no records of the gap" : "the device's history"
        case .failed(let message, _)?:
            reason = "the device's history could not be read (\(message))"
        case nil:
            break
        }
        let parts = GapFill.parts(
            from: gap.fromMilliseconds, to: gap.toMilliseconds, counterJoules: gap.counterJoules, figures: figures,
            before: pending.before, after: pending.after)
        let settled = gap.placed(parts, rest: gap.counterOutcome, reason: reason)
        counters[node]?.energyJoules += settled.backfilledJoules
        return settled
    }
}

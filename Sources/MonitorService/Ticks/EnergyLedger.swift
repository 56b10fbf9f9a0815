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
/// device has records, the rest as the counter alone would have it. A gap whose device gives
/// per-minute figures in its status waits likewise for the status that has the figure of the
/// gap's last minute (running when the gap ended), so that no part of the gap is spread evenly
/// where the device can say what it drew.
final class EnergyLedger: Sendable {
    /// A gap whose device's history is being read, or whose last minute's figure is awaited.
    struct PendingGap {
        var gap: EnergyGap
        /// The history asked for; nil for a gap that waits for its last minute's figure.
        var request: HistoryRequest?
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
    /// The carbon intensity and price the emissions and cost counters advance by; nil when
    /// neither is configured.
    private let rates: RatesCell?

    /// Starts every node of `nodes` at its stored counters (or empty ones). With `rates`, each
    /// increase of a node's energy counter adds its emissions and cost at the intensity and
    /// price in force at the tick; a cost counted in another currency starts again from 0.
    init(nodes: [String], stored: [String: EnergyCounters], maxGapMilliseconds: Int64, rates: RatesCell? = nil) {
        var initial: [String: EnergyCounters] = [:]
        var marks: [String: Int64] = [:]
        let currency = rates?.current.tariff?.currency
        for node in nodes {
            var counters = stored[node] ?? EnergyCounters()
            if let currency, counters.costCurrency != currency {
                counters.cost = 0
                counters.costCurrency = currency
            }
            initial[node] = counters
            if let last = stored[node]?.lastTimestampMilliseconds { marks[node] = last }
        }
        self.rates = rates
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
        var gaps: [(node: String, gap: EnergyGap)] = []
        var requests: [String: HistoryRequest] = [:]
        let maxGap = maxGapMilliseconds
        let rates = self.rates?.current
        let snapshot = state.withLock { state -> [String: EnergyCounters] in
            // Each node's energy before the tick, for the emissions and cost of what it adds.
            var before: [String: Double] = [:]
            if rates != nil {
                for outcome in report.outcomes { before[outcome.node] = state.counters[outcome.node]?.energyJoules }
            }
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
                if let pending = state.pending[node], pending.request == nil, step.gap == nil,
                    let figures = Self.lastMinuteFigures(
                        pending, device: devices[index], at: sample.timestampMilliseconds)
                {
                    state.pending[node] = nil
                    gaps.append(
                        (node, Self.settle(pending, of: node, figures: figures, reason: nil, counters: &state.counters))
                    )
                }
                guard let gap = step.gap else { continue }
                guard gap.awaitsHistory || gap.awaitsMinutes else {
                    gaps.append((node, gap))
                    continue
                }
                if let earlier = state.pending.removeValue(forKey: node) {
                    // A new gap before the last one's history or figure came: that one is settled
                    // with what there is.
                    gaps.append(
                        (
                            node,
                            Self.settle(
                                earlier, of: node, figures: earlier.gap.figures,
                                reason: "a new gap began before the device's figures for the last one could be read",
                                counters: &state.counters)
                        ))
                }
                guard gap.awaitsHistory else {
                    state.pending[node] = PendingGap(
                        gap: gap, request: nil,
                        before: step.closedMinutes.last {
                            $0.minuteStartMilliseconds == GapFill.minuteStart(gap.fromMilliseconds)
                        },
                        after: nil, maximumWatts: devices[index].maximumWatts)
                    continue
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
                guard let pending = state.pending[node], let request = pending.request, request == history.request
                else { continue }
                state.pending[node] = nil
                var figures: DeviceMinutes?
                var reason: String
                switch history {
                case .records(let records, _):
                    figures = records.believable(
                        maximumWatts: pending.maximumWatts, nowMilliseconds: WallClock.nowMilliseconds())
                    reason =
                        figures == nil ? "the device's history holds no records of the gap" : "the device's history"
                case .failed(let message, _):
                    reason = "the device's history could not be read (\(message))"
                }
                gaps.append(
                    (node, Self.settle(pending, of: node, figures: figures, reason: reason, counters: &state.counters)))
            }
            if let rates {
                for (node, joules) in before {
                    guard let after = state.counters[node]?.energyJoules, after > joules else { continue }
                    let added = rates.increment(joules: after - joules, at: report.tickMilliseconds)
                    if let grams = added.grams { state.counters[node]?.emissionsGrams += grams }
                    if let cost = added.cost { state.counters[node]?.cost += cost }
                }
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

    /// Settles a gap that waited for its device's history or its last minute's figure: the
    /// device's `figures` where they cover it (and the counter, when it bridged the gap, for
    /// the rest), added to the node's counters.
    private static func settle(
        _ pending: PendingGap, of node: String, figures: DeviceMinutes?, reason: String?,
        counters: inout [String: EnergyCounters]
    ) -> EnergyGap {
        let gap = pending.gap
        let parts = GapFill.parts(
            from: gap.fromMilliseconds, to: gap.toMilliseconds, counterJoules: gap.counterJoules, figures: figures,
            before: pending.before, after: pending.after)
        let rest = gap.awaitsMinutes ? GapOutcome.noCounter : gap.counterOutcome
        let settled = gap.placed(parts, rest: rest, reason: reason ?? gap.reason)
        counters[node]?.energyJoules += settled.backfilledJoules
        return settled
    }

    /// How long after its last minute's start a gap waits for that minute's figure: a status
    /// holds the last three whole minutes, and a sample may be missed or refused meanwhile.
    static let minuteFigureWaitMilliseconds: Int64 = 3 * 60_000

    /// The figures to settle a gap waiting for its last minute's with, once `device` (the
    /// status of a sample at `time`) gives that minute's figure and the samples after the gap
    /// have measured the rest of that minute; or, once the wait is over, what the status at
    /// the gap's end gave. Nil while the gap still waits.
    static func lastMinuteFigures(_ pending: PendingGap, device: DeviceCounterContext, at time: Int64) -> DeviceMinutes?
    {
        let minute = GapFill.minuteStart(pending.gap.toMilliseconds)
        let earlier = pending.gap.figures ?? DeviceMinutes(source: .minutes, intervals: [])
        let later = device.minutes?.believable(maximumWatts: pending.maximumWatts, nowMilliseconds: time)
        let covers =
            later?.intervals.contains { $0.startMilliseconds == minute && $0.endMilliseconds == minute + 60_000 }
            ?? false
        if covers, pending.after != nil, let later {
            // The later status' figures first (they include the gap's last minute), then the
            // earlier ones for the minutes it no longer holds.
            let kept = earlier.intervals.filter { interval in
                !later.intervals.contains {
                    $0.startMilliseconds < interval.endMilliseconds && interval.startMilliseconds < $0.endMilliseconds
                }
            }
            return DeviceMinutes(source: .minutes, intervals: later.intervals + kept)
        }
        return time >= minute + minuteFigureWaitMilliseconds ? earlier : nil
    }
}

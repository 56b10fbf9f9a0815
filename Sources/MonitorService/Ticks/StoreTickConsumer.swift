import EnergyModel
import Exporter
import Logging
import Store
import Synchronization

/// Commits every tick to SQLite in one transaction, with every node's counters.
///
/// While the store cannot write (a full disk), the ticks wait in memory, in a backlog bounded
/// in bytes (`backlog` in the configuration): beyond it the oldest are dropped, counted in
/// `energy_monitor_samples_dropped_total` and logged once. A failing store is probed with the
/// oldest tick only, so a failed tick costs the same in the outage's first second and in its
/// tenth hour. Once a write succeeds, each tick writes a bounded chunk of the oldest waiting
/// ticks (its own last), so the samples reach the store in time order and the backlog drains
/// at several ticks per tick without one long write.
final class StoreTickConsumer: TickConsumer {
    private struct State {
        var backlog: SampleBacklog
        var firstTickDone = false
        var storeError: String?
        /// The counters of the latest tick, for the writes of a shutdown's drain.
        var counters: [String: EnergyCounters] = [:]
        /// Energy recorded for gaps, by node, not yet written: it goes with the next write
        /// that succeeds (a few parts per gap; the samples' backlog bound does not apply).
        var backfill: [String: [BackfillPart]] = [:]
        /// Since the backlog was last empty: whether a write failed, whether samples were
        /// dropped, and how many.
        var outage = false
        var dropping = false
        var droppedInOutage = 0
    }

    private let store: any TickStore
    private let metrics: MonitorMetrics
    private let logger: Logger
    private let state: Mutex<State>
    private let maxBacklogBytes: Int
    private let drainSamplesPerWrite: Int

    /// The default bound of the backlog: 64 MiB, well inside the container's 256 MiB limit
    /// next to the service's own 50 to 130 MiB. About 800,000 samples: 13 minutes of 1,000
    /// plugs, two and a half days of 3.
    static let defaultMaxBacklogBytes = 64 << 20
    /// Samples one write takes from the backlog (at least the oldest tick, and at least
    /// twice the newest tick, so that the backlog always shrinks): about 20 ms of writing.
    static let defaultDrainSamplesPerWrite = 20_000

    init(
        store: any TickStore, metrics: MonitorMetrics, logger: Logger, maxBacklogBytes: Int = StoreTickConsumer.defaultMaxBacklogBytes,
        drainSamplesPerWrite: Int = StoreTickConsumer.defaultDrainSamplesPerWrite
    ) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.state = Mutex(State(backlog: SampleBacklog(maxBytes: maxBacklogBytes)))
        self.maxBacklogBytes = maxBacklogBytes
        self.drainSamplesPerWrite = max(1, drainSamplesPerWrite)
    }

    /// Whether a tick has been stored, and what fails while the store cannot write.
    var status: (firstTickDone: Bool, storeError: String?) {
        state.withLock { ($0.firstTickDone, $0.storeError) }
    }

    /// Ticks and samples waiting in memory, and their estimated bytes.
    var backlog: (ticks: Int, samples: Int, bytes: Int) {
        state.withLock { ($0.backlog.count, $0.backlog.sampleCount, $0.backlog.bytes) }
    }

    func consume(_ tick: Tick) async {
        // The monitor hands ticks over one at a time, so nothing else changes the backlog
        // between taking its oldest ticks here and removing them after the write.
        let (dropped, startsDropping, waiting) = state.withLock { state -> (Int, Bool, Int) in
            state.counters = tick.counters
            for (node, gap) in tick.gaps where !gap.parts.isEmpty { state.backfill[node, default: []] += gap.parts }
            let dropped = state.backlog.append(tick.samples)
            guard dropped > 0 else { return (0, false, 0) }
            state.droppedInOutage += dropped
            defer { state.dropping = true }
            return (dropped, !state.dropping, state.backlog.sampleCount)
        }
        if dropped > 0 { metrics.recordDroppedSamples(dropped) }
        if startsDropping {
            logger.error(
                "store backlog full; dropping the oldest samples until the store is writable",
                metadata: ["bound": "\(maxBacklogBytes) bytes", "waiting": "\(waiting)"]
            )
        }
        _ = await writeOldest(atLeast: 2 * tick.samples.count)
    }

    /// Forgets what was stamped at or after `mark`, in the store and in the backlog: the wall
    /// clock was ahead and has been set back (see `EnergyStore.rewind(toMilliseconds:)`).
    func rewind(to mark: Int64) async throws(StoreError) -> EnergyStore.Rewind {
        let waiting = state.withLock { state in
            for (node, parts) in state.backfill { state.backfill[node] = parts.filter { $0.endMilliseconds <= mark } }
            return state.backlog.removeSamples(atOrAfter: mark)
        }
        var rewound = try await store.rewind(toMilliseconds: mark)
        rewound.samples += waiting
        return rewound
    }

    /// Writes what still waits, oldest first in bounded chunks, until the backlog is empty or
    /// a write fails: a graceful shutdown right after an outage still stores the samples.
    func drain() async {
        while !state.withLock({ $0.backlog.isEmpty && $0.backfill.isEmpty }) {
            guard await writeOldest(atLeast: 0) else { return }
        }
    }

    /// Writes the oldest waiting ticks with the latest counters: a chunk of at most
    /// `drainSamplesPerWrite` samples (or `atLeast`) while the store works, only the oldest
    /// tick while it fails. Returns whether the write succeeded.
    private func writeOldest(atLeast: Int) async -> Bool {
        let (samples, ticks, counters, backfill) = state.withLock { state in
            let chunk = state.storeError == nil ? max(drainSamplesPerWrite, atLeast) : 0
            let (samples, ticks) = state.backlog.oldest(maxSamples: chunk)
            return (samples, ticks, state.counters, state.backfill)
        }
        let started = WallClock.nowNanoseconds()
        do {
            try await store.write(samples: samples, counters: counters, backfill: backfill)
            metrics.recordStoreWrite(seconds: Double(WallClock.nowNanoseconds() - started) / 1e9, failed: false)
            let (recovered, waiting, emptied, dropped) = state.withLock { state -> (Bool, Int, Bool, Int) in
                state.backlog.removeOldest(ticks)
                // Parts added meanwhile (none: ticks are handed over one at a time) stay.
                for (node, parts) in backfill {
                    guard let waiting = state.backfill[node] else { continue }
                    let rest = Array(waiting.dropFirst(parts.count))
                    state.backfill[node] = rest.isEmpty ? nil : rest
                }
                state.firstTickDone = true
                let recovered = state.storeError != nil
                state.storeError = nil
                let emptied = state.backlog.isEmpty && state.outage
                let dropped = state.droppedInOutage
                if emptied {
                    state.outage = false
                    state.dropping = false
                    state.droppedInOutage = 0
                }
                return (recovered, state.backlog.sampleCount, emptied, dropped)
            }
            if recovered { logger.info("store writable again", metadata: ["waiting": "\(waiting + samples.count)"]) }
            if emptied { logger.info("store backlog written", metadata: ["dropped": "\(dropped)"]) }
            return true
        } catch {
            metrics.recordStoreWrite(seconds: Double(WallClock.nowNanoseconds() - started) / 1e9, failed: true)
            let first = state.withLock { state -> Bool in
                // What `/readyz` tells: words without the SQL text or path the message can hold.
                defer {
                    state.storeError = "cannot write samples (\(error.summary))"
                    state.outage = true
                }
                return state.storeError == nil
            }
            if first {
                logger.error("store write failed; samples kept in memory and retried", metadata: ["error": "\(error.message)"])
            }
            return false
        }
    }
}

import EnergyModel
import Exporter
import Logging
import Store
import Synchronization

/// Commits every tick to SQLite in one transaction, with every node's counters. While the
/// store cannot write (a full disk), samples wait in memory and go out with the next tick
/// that commits; the oldest are dropped beyond `maxPendingSamples`.
final class StoreTickConsumer: TickConsumer {
    private struct State {
        var pending: [Sample] = []
        var firstTickDone = false
        var storeError: String?
        var droppedSamples = 0
    }

    private let store: EnergyStore
    private let metrics: MonitorMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let maxPendingSamples: Int

    /// At most this many samples wait in memory while the store cannot write (one hour of
    /// 1,000 plugs at 1 Hz); beyond it the oldest are dropped and counted.
    static let defaultMaxPendingSamples = 3_600_000

    init(store: EnergyStore, metrics: MonitorMetrics, logger: Logger, maxPendingSamples: Int = StoreTickConsumer.defaultMaxPendingSamples) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.maxPendingSamples = maxPendingSamples
    }

    /// Whether a tick has been stored, and what fails while the store cannot write.
    var status: (firstTickDone: Bool, storeError: String?) {
        state.withLock { ($0.firstTickDone, $0.storeError) }
    }

    func consume(_ tick: Tick) async {
        let toWrite = state.withLock { state -> [Sample] in
            state.pending.append(contentsOf: tick.samples)
            if state.pending.count > maxPendingSamples {
                let excess = state.pending.count - maxPendingSamples
                state.pending.removeFirst(excess)
                state.droppedSamples += excess
            }
            return state.pending
        }
        let started = WallClock.nowNanoseconds()
        do {
            try await store.write(samples: toWrite, counters: tick.counters)
            metrics.recordStoreWrite(seconds: Double(WallClock.nowNanoseconds() - started) / 1e9, failed: false)
            let recovered = state.withLock { state -> Bool in
                state.pending.removeFirst(min(toWrite.count, state.pending.count))
                state.firstTickDone = true
                defer { state.storeError = nil }
                return state.storeError != nil
            }
            if recovered { logger.info("store writable again", metadata: ["samples": "\(toWrite.count)"]) }
        } catch {
            metrics.recordStoreWrite(seconds: Double(WallClock.nowNanoseconds() - started) / 1e9, failed: true)
            let first = state.withLock { state -> Bool in
                // What `/readyz` tells: words without the SQL text or path the message can hold.
                defer { state.storeError = "cannot write samples (\(error.summary))" }
                return state.storeError == nil
            }
            if first {
                logger.error("store write failed; samples kept in memory and retried", metadata: ["error": "\(error.message)"])
            }
        }
    }
}

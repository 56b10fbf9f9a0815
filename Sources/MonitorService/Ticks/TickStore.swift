import EnergyModel
import Store

/// Where `StoreTickConsumer` commits ticks: the `EnergyStore`, or in tests a stand-in that
/// fails on demand and counts what it is handed.
protocol TickStore: Sendable {
    /// Writes samples, the nodes' counters and the energy recorded for gaps in one transaction.
    func write(
        samples: [Sample], counters: [String: EnergyCounters], backfill: [String: [BackfillPart]]
    ) async throws(StoreError)
    /// Forgets what was stamped at or after `mark` (unix milliseconds).
    func rewind(toMilliseconds mark: Int64) async throws(StoreError) -> EnergyStore.Rewind
}

extension EnergyStore: TickStore {}

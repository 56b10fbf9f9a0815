import EnergyModel
import Store

/// Where `StoreTickConsumer` commits ticks: the `EnergyStore`, or in tests a stand-in that
/// fails on demand and counts what it is handed.
protocol TickStore: Sendable {
    /// Writes samples and the nodes' counters in one transaction.
    func write(samples: [Sample], counters: [String: EnergyCounters]) async throws(StoreError)
    /// Forgets what was stamped at or after `mark` (unix milliseconds).
    func rewind(toMilliseconds mark: Int64) async throws(StoreError) -> EnergyStore.Rewind
}

extension EnergyStore: TickStore {}

import EnergyModel
import Exporter

/// Keeps `/metrics` current: tick timing, each plug's sample or failure, and the power
/// series of nodes whose newest sample has grown stale.
struct MetricsTickConsumer: TickConsumer {
    let metrics: MonitorMetrics
    /// A sample older than this leaves the power gauges (3 intervals).
    let maxAgeMilliseconds: Int64

    func consume(_ tick: Tick) async {
        metrics.recordSkippedTicks(tick.report.skippedTicks)
        metrics.recordTickDelay(milliseconds: tick.report.startLatencyMilliseconds)
        for outcome in tick.report.outcomes {
            if let health = outcome.health { metrics.recordHealth(node: outcome.node, health: health) }
            if !outcome.meters.isEmpty { metrics.recordMeters(node: outcome.node, outcome.meters.map { ($0.meter, $0.watts) }) }
            switch outcome.result {
            case .success(let sample):
                metrics.recordSample(sample, counters: tick.counters[sample.node] ?? EnergyCounters(), pollSeconds: outcome.durationSeconds)
            case .failure(let failure):
                metrics.recordFailure(node: outcome.node, reason: failure.reason, pollSeconds: outcome.durationSeconds)
            }
        }
        for (node, gap) in tick.gaps {
            metrics.recordGap(node: node, seconds: gap.seconds, joules: gap.joulesBySource)
        }
        for (node, verdict) in tick.deviceCounters {
            guard case .refused(let refusal) = verdict else { continue }
            metrics.recordCounterRefusal(node: node, reason: refusal.reason)
        }
        metrics.expireStale(nowMilliseconds: WallClock.nowMilliseconds(), maxAgeMilliseconds: maxAgeMilliseconds)
    }
}

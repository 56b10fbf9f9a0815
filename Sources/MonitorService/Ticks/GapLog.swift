import EnergyModel
import Logging

/// Logs every gap once when it is settled: what was recorded for it and from which figures, or
/// why it stays a gap (the seconds are counted in `energy_monitor_gap_seconds_total`).
struct GapLog: TickConsumer {
    let logger: Logger

    func consume(_ tick: Tick) async {
        for (node, gap) in tick.gaps {
            var metadata: Logger.Metadata = [
                "node": "\(node)", "from": "\(gap.fromMilliseconds)", "to": "\(gap.toMilliseconds)",
                "seconds": "\(Double(gap.milliseconds) / 1000)", "reason": "\(gap.reason)",
            ]
            if gap.outcome == .backfilled {
                metadata["joules"] = "\(gap.backfilledJoules)"
                metadata["sources"] = "\(gap.joulesBySource.keys.sorted().map(\.rawValue).joined(separator: ","))"
                let covered = gap.seconds[.backfilled] ?? 0
                if covered * 1000 < Double(gap.milliseconds) - 500 {
                    metadata["uncoveredSeconds"] = "\(Double(gap.milliseconds) / 1000 - covered)"
                }
                logger.info("gap closed with the device's figures", metadata: metadata)
            } else {
                metadata["outcome"] = "\(gap.outcome.rawValue)"
                logger.warning("gap stays a gap", metadata: metadata)
            }
        }
        for (node, request) in tick.historyRequests.sorted(by: { $0.key < $1.key }) {
            logger.info(
                "gap: reading the device's history once its last minute is over",
                metadata: [
                    "node": "\(node)", "from": "\(request.fromMilliseconds)", "to": "\(request.toMilliseconds)",
                ])
        }
    }
}

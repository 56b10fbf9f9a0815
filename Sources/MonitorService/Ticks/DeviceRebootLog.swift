import Logging
import Synchronization

/// Logs a plug's reboot once, when the uptime it reports goes back (its own energy counter
/// restarts then; the counters of the service continue regardless).
final class DeviceRebootLog: TickConsumer {
    private let logger: Logger
    private let uptimes = Mutex<[String: Double]>([:])

    init(logger: Logger) {
        self.logger = logger
    }

    func consume(_ tick: Tick) async {
        var rebooted: [(String, Double, Double)] = []
        uptimes.withLock { uptimes in
            for outcome in tick.report.outcomes {
                guard let uptime = outcome.health?.uptimeSeconds else { continue }
                if let previous = uptimes[outcome.node], uptime < previous { rebooted.append((outcome.node, previous, uptime)) }
                uptimes[outcome.node] = uptime
            }
        }
        for (node, previous, uptime) in rebooted {
            logger.notice("plug rebooted", metadata: ["node": "\(node)", "uptimeBefore": "\(previous)", "uptime": "\(uptime)"])
        }
    }
}

import EnergyModel
import Logging
import Synchronization

/// Logs refused device counters once per node and kind (a plug that lies every few seconds
/// writes one line per kind of lie, the rest is counted in
/// `energy_monitor_device_energy_refusals_total`), and every new baseline the counters take
/// after a run of refusals.
final class DeviceCounterLog: TickConsumer {
    private let logger: Logger
    private let logged = Mutex<Set<String>>([])

    init(logger: Logger) {
        self.logger = logger
    }

    func consume(_ tick: Tick) async {
        for (node, verdict) in tick.deviceCounters.sorted(by: { $0.key < $1.key }) {
            switch verdict {
            case .refused(let refusal):
                let first = logged.withLock { $0.insert("\(node)\u{0}\(refusal.reason.rawValue)").inserted }
                guard first else { continue }
                logger.warning(
                    "device counter refused; not stored or published (further refusals of this kind are only counted)",
                    metadata: [
                        "node": "\(node)", "reason": "\(refusal.reason.rawValue)", "error": "\(refusal.message)",
                    ])
            case .accepted(.rebaseline, let joules):
                logger.notice(
                    "device counter has a new baseline after refused readings; the step itself is not counted",
                    metadata: ["node": "\(node)", "addedJoules": "\(joules)"])
            default:
                continue
            }
        }
    }
}

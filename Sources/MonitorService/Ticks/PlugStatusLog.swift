import Logging
import Synchronization

/// Logs each plug going down (with the reason) and coming back up, once per change rather
/// than once per tick.
final class PlugStatusLog: TickConsumer {
    private let logger: Logger
    private let down = Mutex<Set<String>>([])

    init(logger: Logger) {
        self.logger = logger
    }

    func consume(_ tick: Tick) async {
        let (wentDown, cameUp) = down.withLock { down -> ([String], [String]) in
            let wentDown = tick.failures.keys.filter { down.insert($0).inserted }
            let cameUp = tick.samples.map(\.node).filter { down.remove($0) != nil }
            return (wentDown, cameUp)
        }
        for node in wentDown.sorted() {
            guard let failure = tick.failures[node] else { continue }
            logger.warning("plug down", metadata: ["node": "\(node)", "reason": "\(failure.reason.rawValue)", "error": "\(failure.message)"])
        }
        for node in cameUp {
            logger.info("plug up", metadata: ["node": "\(node)"])
        }
    }
}

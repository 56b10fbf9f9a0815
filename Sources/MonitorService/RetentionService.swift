import EnergyModel
import Logging
import ServiceLifecycle
import Store

/// Folds raw samples older than `retention.raw` into minute rows and expires minute rows
/// older than `retention.minute`, once a minute, in short batches that let tick writes
/// through in between.
struct RetentionService: Service {
    let store: EnergyStore
    let configuration: MonitorConfiguration
    let logger: Logger

    func run() async throws {
        // Each batch is its own transaction, so stopping between batches loses nothing.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await runOnce()
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }

    /// Works until nothing is due; returns the number of batches run.
    @discardableResult
    func runOnce() async -> Int {
        var batches = 0
        var folded = 0
        while !Task.isCancelled {
            let now = WallClock.nowMilliseconds()
            do {
                let step = try await store.retentionStep(
                    rawCutoffMilliseconds: now - configuration.retentionRawMilliseconds,
                    minuteCutoffMilliseconds: now - configuration.retentionMinuteMilliseconds,
                    maxGapMilliseconds: 3 * configuration.intervalMilliseconds
                )
                batches += 1
                folded += step.samplesDeleted
                guard step.moreToDo else { break }
                // Let queued tick writes go first.
                try? await Task.sleep(for: .milliseconds(20))
            } catch {
                logger.error("retention failed", metadata: ["error": "\(error.message)"])
                break
            }
        }
        if folded > 0 {
            logger.info("folded raw samples into minutes", metadata: ["samples": "\(folded)", "batches": "\(batches)"])
        }
        return batches
    }
}


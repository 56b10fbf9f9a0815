import EnergyModel
import Logging
import ServiceLifecycle

/// Folds raw samples older than the raw retention into minute rows and expires minute rows
/// older than the minute retention, once a minute, in short batches that let tick writes
/// through in between.
public struct RetentionService: Service {
    let store: EnergyStore
    let rawMilliseconds: Int64
    let minuteMilliseconds: Int64
    let maxGapMilliseconds: Int64
    let logger: Logger

    /// Keeps raw samples for `rawMilliseconds` and minute rows for `minuteMilliseconds`;
    /// samples up to `maxGapMilliseconds` apart are integrated across when folding.
    public init(store: EnergyStore, rawMilliseconds: Int64, minuteMilliseconds: Int64, maxGapMilliseconds: Int64, logger: Logger) {
        self.store = store
        self.rawMilliseconds = rawMilliseconds
        self.minuteMilliseconds = minuteMilliseconds
        self.maxGapMilliseconds = maxGapMilliseconds
        self.logger = logger
    }

    /// Runs once a minute until graceful shutdown.
    public func run() async throws {
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
    public func runOnce() async -> Int {
        var batches = 0
        var folded = 0
        while !Task.isCancelled {
            let now = WallClock.nowMilliseconds()
            do {
                let step = try await store.retentionStep(
                    rawCutoffMilliseconds: now - rawMilliseconds,
                    minuteCutoffMilliseconds: now - minuteMilliseconds,
                    maxGapMilliseconds: maxGapMilliseconds
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

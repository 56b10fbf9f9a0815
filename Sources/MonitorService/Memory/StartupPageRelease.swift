import Logging
import Synchronization

/// Releases the service's start-up pages (`StartupPages`) once, at the `afterTicks`-th tick:
/// by then every plug was detected, every connection opened, the first minute packed, and the
/// first scrapes answered, so what start-up alone touched is behind.
final class StartupPageRelease: TickConsumer {
    let afterTicks: Int
    private let logger: Logger
    private let release: @Sendable () -> StartupPages.Release
    private let ticks = Mutex(0)

    init(
        afterTicks: Int = 30, logger: Logger,
        release: @escaping @Sendable () -> StartupPages.Release = { StartupPages.release() }
    ) {
        self.afterTicks = afterTicks
        self.logger = logger
        self.release = release
    }

    func consume(_ tick: Tick) async {
        let count = ticks.withLock { count -> Int in
            if count <= afterTicks { count += 1 }
            return count
        }
        guard count == afterTicks else { return }
        let release = release()
        var metadata: Logger.Metadata = ["mappings": "\(release.mappings)"]
        if let before = release.residentFileBytesBefore, let after = release.residentFileBytesAfter {
            metadata["fileBackedMiBBefore"] = "\(Double(before / 1024) / 1024)"
            metadata["fileBackedMiBAfter"] = "\(Double(after / 1024) / 1024)"
        }
        logger.info("released the pages of start-up code", metadata: metadata)
    }
}

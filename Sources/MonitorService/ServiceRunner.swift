import Logging
import ServiceLifecycle
import UnixSignals

/// Runs services the way a command does: together in one `ServiceGroup`, shut down
/// gracefully (in reverse order) on SIGTERM or SIGINT, or after a fixed duration.
public enum ServiceRunner {
    /// Runs `services` until SIGTERM or SIGINT (those in `signals`), or for `duration` when
    /// given, then shuts them down gracefully; rethrows the first service's error.
    public static func run(
        _ services: [any Service], for duration: Duration? = nil,
        signals: [UnixSignal] = [.sigterm, .sigint],
        logger: Logger
    ) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: signals,
                logger: logger))
        let timer = Task {
            guard let duration else { return }
            try await Task.sleep(for: duration)
            await group.triggerGracefulShutdown()
        }
        defer { timer.cancel() }
        try await group.run()
    }
}

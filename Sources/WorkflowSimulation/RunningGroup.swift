import ClusterSimulator
import Logging
import ServiceLifecycle
import ShellySimulator
import Synchronization

/// A `ServiceGroup` running in a task of its own, for a caller that starts it and stops it
/// later (the offline cluster lives as long as the run that uses it).
final class RunningGroup: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, Never>
    /// Why the group ended, once it has ended on its own (a service failed or returned).
    private let ending: Ending

    /// Shared with the group's task.
    private final class Ending: Sendable {
        let reason = Mutex<String?>(nil)

        func set(_ text: String) { reason.withLock { $0 = $0 ?? text } }
    }

    /// Starts `services` (shut down in reverse order).
    init(services: [any Service], logger: Logger) {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
        let ending = Ending()
        self.group = group
        self.ending = ending
        self.task = Task {
            do {
                try await group.run()
                ending.set("stopped")
            } catch {
                ending.set("\(error)")
            }
        }
    }

    /// Why the group has ended, nil while it runs.
    var endedError: String? { ending.reason.withLock { $0 } }

    /// Shuts every service down gracefully, in reverse order, and waits for the group to end.
    func stop() async {
        ending.set("stopped")
        await group.triggerGracefulShutdown()
        await task.value
    }
}

/// The simulated plugs and the Kubernetes API stand-in as one service: they listen from the
/// moment they are started (so their addresses are known before the monitor is configured)
/// and are shut down when the group shuts down, after the monitor and the extender.
struct SimulatorService: Service {
    let plugs: ShellySimulator
    let cluster: ClusterSimulator

    func run() async throws {
        // Cancellation ends the wait as well as a graceful shutdown; both shut down.
        try? await gracefulShutdown()
        await cluster.stop()
        await plugs.shutdown()
    }
}

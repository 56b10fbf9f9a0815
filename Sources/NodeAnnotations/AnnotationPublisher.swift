import AnnotationContract
import EnergyModel
import Kubernetes
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes each node's live power as the annotations of ``PowerAnnotationContract``
/// (`<prefix>/current-watts` and `<prefix>/last-updated`), both in one merge patch per write.
///
/// `offer` is called for every sample and never waits: it only replaces the node's pending
/// value (latest wins, nothing queues up) and wakes the node's loop. Each node's loop runs in
/// `run()` and writes when the value moved beyond the deadband, else at the heartbeat, never
/// more than once per `minimumInterval`; failures back off (429 honours `Retry-After`).
/// A slow or dead API server therefore only delays annotations, never the caller.
public final class AnnotationPublisher: Service, Sendable {
    /// Receives each write's result: `ok`, `error`, or `skipped` for a sample replaced by a
    /// newer one before it was due (within the deadband, rate-limited or backing off).
    public typealias ResultHandler = @Sendable (_ node: String, _ result: AnnotationPatchResult) -> Void

    /// The annotation keys and value format.
    public let contract: PowerAnnotationContract
    private let patcher: any NodeAnnotationPatching
    private let clock: any AnnotationClock
    private let logger: Logger
    private let onResult: ResultHandler
    private let schedules: Mutex<[String: AnnotationSchedule]>
    private let signals: [String: WakeSignal]

    /// Creates a publisher for `nodes` (offers for other nodes are ignored).
    public init(
        nodes: [String],
        prefix: String,
        policy: AnnotationPolicy,
        patcher: any NodeAnnotationPatching,
        clock: any AnnotationClock = WallAnnotationClock(),
        logger: Logger,
        onResult: @escaping ResultHandler = { _, _ in }
    ) {
        self.contract = PowerAnnotationContract(prefix: prefix)
        self.patcher = patcher
        self.clock = clock
        self.logger = logger
        self.onResult = onResult
        var schedules: [String: AnnotationSchedule] = [:]
        var signals: [String: WakeSignal] = [:]
        for node in nodes {
            schedules[node] = AnnotationSchedule(policy: policy)
            signals[node] = WakeSignal()
        }
        self.schedules = Mutex(schedules)
        self.signals = signals
    }

    /// Hands over a sample. Never blocks on the network: O(1) under a lock, then a wake-up.
    public func offer(node: String, watts: Double, timestampMilliseconds: Int64) {
        guard watts.isFinite, let signal = signals[node] else { return }
        let value = AnnotationSchedule.Value(watts: watts, timestampMilliseconds: timestampMilliseconds)
        let (accepted, replaced) = schedules.withLock { schedules -> (Bool, Bool) in
            guard var schedule = schedules[node] else { return (false, false) }
            defer { schedules[node] = schedule }
            let result = schedule.offer(value)
            return (result.accepted, result.replacedUnwritten)
        }
        if replaced { onResult(node, .skipped) }
        if accepted { signal.signal() }
    }

    /// Runs one loop per node until cancelled or graceful shutdown.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for (node, signal) in signals {
                    group.addTask { await self.runNode(node, signal: signal) }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            // The loops end at their next wake-up; wake them all now.
            for signal in self.signals.values { signal.signal() }
        }
    }

    /// The current schedule of a node, for tests and diagnostics.
    public func schedule(of node: String) -> AnnotationSchedule? {
        schedules.withLock { $0[node] }
    }

    private func runNode(_ node: String, signal: WakeSignal) async {
        while !Task.isCancelled, !Self.isShuttingDown {
            let now = clock.nowMilliseconds()
            let action = schedules.withLock { schedules -> AnnotationSchedule.Action in
                guard var schedule = schedules[node] else { return .idle }
                defer { schedules[node] = schedule }
                return schedule.nextAction(now: now)
            }
            switch action {
            case .idle:
                await signal.wait(until: nil, clock: clock)
            case .wait(let until):
                await signal.wait(until: until, clock: clock)
            case .write(let value):
                await write(value, node: node)
            }
        }
    }

    private static var isShuttingDown: Bool {
        Task.isShuttingDownGracefully
    }

    private func write(_ value: AnnotationSchedule.Value, node: String) async {
        let annotations = contract.annotations(watts: value.watts, timestampMilliseconds: value.timestampMilliseconds)
        let outcome = await patcher.patchNodeAnnotations(node: node, annotations: annotations)
        let now = clock.nowMilliseconds()
        let completion = schedules.withLock { schedules -> AnnotationSchedule.Completion? in
            guard var schedule = schedules[node] else { return nil }
            defer { schedules[node] = schedule }
            return schedule.complete(value, outcome: outcome, now: now, jitter: Double.random(in: 0..<1))
        }
        onResult(node, outcome.isSuccess ? .ok : .error)
        guard let completion else { return }
        if outcome.isSuccess {
            if completion.recoveredAfter > 0 {
                logger.info(
                    "node annotations written again",
                    metadata: ["node": "\(node)", "failedWrites": "\(completion.recoveredAfter)"])
            }
            return
        }
        var metadata: Logger.Metadata = ["node": "\(node)", "error": "\(outcome)"]
        if let retryAt = completion.retryAt { metadata["retryInMs"] = "\(max(0, retryAt - now))" }
        if completion.repeatedFailure {
            logger.debug("node annotation write failed again", metadata: metadata)
            return
        }
        logger.error("node annotation write failed\(Self.hint(outcome))", metadata: metadata)
    }

    /// What an operator should look at for this failure.
    private static func hint(_ outcome: PatchOutcome) -> String {
        switch outcome {
        case .unauthorized: "; the API server does not accept the credentials (token expired or wrong user?)"
        case .rejected(let status) where status.code == 403:
            "; RBAC: the service account needs `patch` on `nodes` (see k8s/monitor-rbac.yaml)"
        case .rejected(let status) where status.code == 404: "; no Kubernetes node has this name (plugs[].node)"
        case .rejected(let status) where status.code == 422: "; the API server refused the patch (check kubernetes.prefix)"
        case .transport(.tls): "; the API server's certificate is not trusted (certificate-authority / ca.crt)"
        default: ""
        }
    }
}

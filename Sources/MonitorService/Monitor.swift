import CurlClient
import EnergyModel
import Exporter
import Hummingbird
import Logging
import ServiceLifecycle
import ShellyPoller
import Store
import Synchronization

/// The service behind `energy-monitor run`: polls every plug each interval, commits each
/// tick to SQLite in one transaction, and keeps `/metrics` current.
public final class Monitor: Sendable {
    /// What a tick produced, after storing; for observers such as the demo's console.
    public struct TickSummary: Sendable {
        /// The tick boundary, unix milliseconds.
        public var tickMilliseconds: Int64
        /// The samples of this tick.
        public var samples: [Sample]
        /// Nodes without a sample this tick, with the reason.
        public var failures: [String: PollFailure]
    }

    private struct State {
        var counters: [String: EnergyCounters]
        var pending: [Sample] = []
        var firstTickDone = false
        var storeError: String?
        var down: Set<String> = []
        var droppedSamples = 0
    }

    /// The validated configuration.
    public let configuration: MonitorConfiguration
    /// The metrics behind `/metrics`.
    public let metrics: MonitorMetrics
    /// The store.
    public let store: EnergyStore
    private let client: CurlMultiClient
    private let loop: PollLoop
    private let logger: Logger
    private let state: Mutex<State>
    private let observer: (@Sendable (TickSummary) -> Void)?
    private let annotations: AnnotationPublisher?

    /// At most this many samples wait in memory while the store cannot write (one hour of
    /// 1,000 plugs at 1 Hz); beyond it the oldest are dropped and counted.
    static let maxPendingSamples = 3_600_000

    /// Opens the store and prepares polling; nothing runs until `run()`.
    public init(
        configuration: MonitorConfiguration,
        logger: Logger,
        observer: (@Sendable (TickSummary) -> Void)? = nil
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        self.observer = observer
        let store = try EnergyStore(path: configuration.database, logger: logger)
        self.store = store
        let counters = try await store.loadCounters()
        try await store.setInterval(milliseconds: configuration.intervalMilliseconds)
        let nodes = configuration.plugs.map(\.node)
        self.metrics = MonitorMetrics(nodes: nodes, counters: counters, annotations: configuration.kubernetes.annotate)
        self.client = CurlMultiClient()
        self.loop = PollLoop(
            plugs: configuration.plugs,
            intervalMilliseconds: configuration.intervalMilliseconds,
            client: client,
            logger: logger
        )
        self.annotations = try Self.makeAnnotationPublisher(configuration: configuration, http: client, metrics: metrics, logger: logger)
        var initial: [String: EnergyCounters] = [:]
        for node in nodes { initial[node] = counters[node] ?? EnergyCounters() }
        self.state = Mutex(State(counters: initial))
    }

    /// Nil when ready (store open and the first tick stored), else the reason.
    public func readiness() async -> String? {
        let (done, storeError) = state.withLock { ($0.firstTickDone, $0.storeError) }
        if let storeError { return "store: \(storeError)" }
        guard done else { return "first tick not done yet" }
        guard await store.ping() else { return "store not answering" }
        return nil
    }

    /// The services to run together: the poll loop and the HTTP server.
    public func makeServices() -> [any Service] {
        let http = MetricsServer.makeApplication(
            host: configuration.listenHost,
            port: configuration.listenPort,
            metrics: metrics,
            readiness: { [self] in await self.readiness() },
            dashboard: DashboardAPI(store: store, nodes: configuration.plugs.map(\.node), intervalMilliseconds: configuration.intervalMilliseconds),
            logger: logger
        )
        // The publisher comes first so that it is shut down last, after the final ticks are stored.
        return (annotations.map { [$0] } ?? [])
            + [PollService(monitor: self), RetentionService(store: store, configuration: configuration, logger: logger), http]
    }

    /// Runs poll loop and HTTP server until SIGTERM or SIGINT (or for `duration`, when
    /// given), then shuts down cleanly: the ticks already polled are stored.
    public func run(for duration: Duration? = nil) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: makeServices().map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info(
            "energy-monitor started",
            metadata: [
                "plugs": "\(configuration.plugs.count)",
                "database": "\(configuration.database)",
                "listen": "\(configuration.listenHost):\(configuration.listenPort)",
                "version": "\(EnergyMonitorVersion.string)",
            ]
        )
        let timer = Task {
            guard let duration else { return }
            try await Task.sleep(for: duration)
            await group.triggerGracefulShutdown()
        }
        defer { timer.cancel() }
        try await group.run()
        client.shutdown()
        store.close()
    }

    /// Polls until graceful shutdown (or cancellation); every tick is stored by this task
    /// while the loop polls in another, so a slow disk never delays the next tick. On
    /// graceful shutdown polling stops and the ticks already taken are still stored.
    func runPolling() async {
        let (stream, continuation) = AsyncStream.makeStream(of: TickReport.self, bufferingPolicy: .unbounded)
        let producer = Task {
            await self.loop.run { continuation.yield($0) }
            continuation.finish()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                for await report in stream {
                    await self.handle(report)
                }
            } onGracefulShutdown: {
                producer.cancel()
            }
        } onCancel: {
            producer.cancel()
        }
    }

    private func handle(_ report: TickReport) async {
        metrics.recordSkippedTicks(report.skippedTicks)
        metrics.recordTickDelay(milliseconds: report.startLatencyMilliseconds)
        let maxGap = 3 * configuration.intervalMilliseconds
        var samples: [Sample] = []
        var failures: [String: PollFailure] = [:]
        let (counters, toWrite, changes) = state.withLock { state -> ([String: EnergyCounters], [Sample], [(String, PollFailure?)]) in
            var changes: [(String, PollFailure?)] = []
            for outcome in report.outcomes {
                switch outcome.result {
                case .success(let sample):
                    var counter = state.counters[sample.node] ?? EnergyCounters()
                    counter.add(sample, maxGapMilliseconds: maxGap)
                    state.counters[sample.node] = counter
                    metrics.recordSample(sample, counters: counter, pollSeconds: outcome.durationSeconds)
                    samples.append(sample)
                    if state.down.remove(sample.node) != nil { changes.append((sample.node, nil)) }
                case .failure(let failure):
                    metrics.recordFailure(node: outcome.node, reason: failure.reason.rawValue, pollSeconds: outcome.durationSeconds)
                    failures[outcome.node] = failure
                    if state.down.insert(outcome.node).inserted { changes.append((outcome.node, failure)) }
                }
            }
            state.pending.append(contentsOf: samples)
            if state.pending.count > Self.maxPendingSamples {
                let excess = state.pending.count - Self.maxPendingSamples
                state.pending.removeFirst(excess)
                state.droppedSamples += excess
            }
            return (state.counters, state.pending, changes)
        }
        for sample in samples {
            annotations?.offer(node: sample.node, watts: sample.reading.watts, timestampMilliseconds: sample.timestampMilliseconds)
        }
        for (node, failure) in changes {
            if let failure {
                logger.warning("plug down", metadata: ["node": "\(node)", "reason": "\(failure.reason.rawValue)", "error": "\(failure.message)"])
            } else {
                logger.info("plug up", metadata: ["node": "\(node)"])
            }
        }
        metrics.expireStale(nowMilliseconds: WallClock.nowMilliseconds(), maxAgeMilliseconds: maxGap)
        let started = WallClock.nowNanoseconds()
        do {
            try await store.write(samples: toWrite, counters: counters)
            metrics.recordStoreWrite(seconds: Double(WallClock.nowNanoseconds() - started) / 1e9, failed: false)
            let recovered = state.withLock { state -> Bool in
                state.pending.removeFirst(min(toWrite.count, state.pending.count))
                state.firstTickDone = true
                defer { state.storeError = nil }
                return state.storeError != nil
            }
            if recovered { logger.info("store writable again", metadata: ["samples": "\(toWrite.count)"]) }
        } catch {
            metrics.recordStoreWrite(seconds: Double(WallClock.nowNanoseconds() - started) / 1e9, failed: true)
            let first = state.withLock { state -> Bool in
                defer { state.storeError = error.message }
                return state.storeError == nil
            }
            if first {
                logger.error("store write failed; samples kept in memory and retried", metadata: ["error": "\(error.message)"])
            }
        }
        observer?(TickSummary(tickMilliseconds: report.tickMilliseconds, samples: samples, failures: failures))
    }
}

/// The poll loop as a lifecycle service.
struct PollService: Service {
    let monitor: Monitor

    func run() async throws {
        await monitor.runPolling()
    }
}

import CurlClient
import EnergyModel
import Exporter
import Hummingbird
import Kubernetes
import Logging
import NodeAnnotations
import ServiceLifecycle
import ShellyPoller
import Store

/// The service behind `energy-monitor run`: polls every plug each interval and hands each
/// tick to its consumers (`/metrics`, node annotations, the plug status log, the store, which
/// commits it in one transaction).
public final class Monitor: Sendable {
    /// The validated configuration.
    public let configuration: MonitorConfiguration
    /// The metrics behind `/metrics`.
    public let metrics: MonitorMetrics
    /// The store.
    public let store: EnergyStore
    private let client: CurlMultiClient
    private let loop: PollLoop
    private let logger: Logger
    private let ledger: EnergyLedger
    private let storeConsumer: StoreTickConsumer
    private let annotations: AnnotationPublisher?
    /// Every tick goes to these, in this order.
    private let consumers: [any TickConsumer]
    /// Workflow phases shown on the dashboard, if any run beside the monitor.
    private let phases: PhaseFeed?

    /// Opens the store and prepares polling; nothing runs until `run()`. `consumers` take
    /// every tick after the service's own (metrics, annotations, the plug status log, the
    /// store), e.g. the demo's console line. `kubernetes` is the API server annotations go
    /// to when they are on, instead of the configured kubeconfig or in-cluster connection
    /// (the offline cluster of `workflow --simulate`); `phases` are the workflow phases the
    /// dashboard shows (`demo --cluster`).
    public init(
        configuration: MonitorConfiguration,
        logger: Logger,
        consumers extraConsumers: [any TickConsumer] = [],
        kubernetes connection: KubernetesConnection? = nil,
        phases: PhaseFeed? = nil
    ) async throws {
        self.configuration = configuration
        self.phases = phases
        self.logger = logger
        let store = try EnergyStore(path: configuration.database, logger: logger)
        self.store = store
        let counters = try await store.loadCounters()
        try await store.setInterval(milliseconds: configuration.intervalMilliseconds)
        let nodes = configuration.nodes
        let maxGap = 3 * configuration.intervalMilliseconds
        let metrics = MonitorMetrics(
            nodes: nodes, counters: counters, annotations: configuration.kubernetes.annotate, storeFaults: store.faults)
        self.metrics = metrics
        self.client = CurlMultiClient()
        self.loop = PollLoop(
            plugs: configuration.plugs,
            intervalMilliseconds: configuration.intervalMilliseconds,
            client: client,
            logger: logger
        )
        self.ledger = EnergyLedger(nodes: nodes, stored: counters, maxGapMilliseconds: maxGap)
        let annotations = try Self.makeAnnotationPublisher(
            configuration: configuration, connection: connection, http: client, metrics: metrics, logger: logger)
        self.annotations = annotations
        let storeConsumer = StoreTickConsumer(store: store, metrics: metrics, logger: logger, maxBacklogBytes: configuration.backlogBytes)
        self.storeConsumer = storeConsumer
        var consumers: [any TickConsumer] = [MetricsTickConsumer(metrics: metrics, maxAgeMilliseconds: maxGap)]
        if let annotations { consumers.append(annotations) }
        consumers += [
            PlugStatusLog(logger: logger), DeviceRebootLog(logger: logger), DeviceCounterLog(logger: logger),
            storeConsumer,
        ]
        self.consumers = consumers + extraConsumers
    }

    /// Nil when ready (store open and the first tick stored), else the reason.
    public func readiness() async -> String? {
        if let fault = store.faults.fileFault { return "store: \(fault)" }
        let (done, storeError) = storeConsumer.status
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
            dashboard: DashboardAPI(
                store: store, nodes: configuration.nodes, intervalMilliseconds: configuration.intervalMilliseconds,
                devices: { [metrics] node in metrics.health(of: node) }, phases: phases),
            logger: logger
        )
        let retention = RetentionService(
            store: store,
            rawMilliseconds: configuration.retentionRawMilliseconds,
            minuteMilliseconds: configuration.retentionMinuteMilliseconds,
            maxGapMilliseconds: 3 * configuration.intervalMilliseconds,
            logger: logger
        )
        // The publisher comes first so that it is shut down last, after the final ticks are stored.
        return (annotations.map { [$0] } ?? []) + [PollService(monitor: self), retention, http]
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

    /// Releases the HTTP client and closes the store, for a caller that ran `makeServices()`
    /// in a service group of its own (after that group has ended).
    public func close() {
        client.shutdown()
        store.close()
    }

    /// Polls until graceful shutdown (or cancellation); every tick is handed to the consumers
    /// by this task while the loop polls in another, so a slow disk never delays the next
    /// tick. On graceful shutdown polling stops and the ticks already taken are still stored,
    /// with whatever still waits from a store outage.
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
        await storeConsumer.drain()
    }

    private func handle(_ report: TickReport) async {
        let tick = ledger.advance(report)
        for consumer in consumers {
            await consumer.consume(tick)
        }
    }
}

/// The poll loop as a lifecycle service.
struct PollService: Service {
    let monitor: Monitor

    func run() async throws {
        await monitor.runPolling()
    }
}

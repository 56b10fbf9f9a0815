import CurlClient
import EnergyModel
import Exporter
import HTTPAdmission
import Kubernetes
import Logging
import NodeAnnotations
import ServiceLifecycle
import ShellyPoller
import Store
import Synchronization

/// The service behind `energy-monitor run`: polls every plug each interval and hands each
/// tick to its consumers (`/metrics`, node annotations, the plug status log, the store, which
/// commits it in one transaction).
///
/// A `Service` with one lifecycle: creating it touches nothing; `run()` opens the store,
/// connects what the configuration asks for, polls and serves until graceful shutdown (or
/// cancellation), stores the ticks already taken, and closes the store and the HTTP client on
/// the way out, whether it ends normally or with an error. Run it in a `ServiceGroup` (see
/// `ServiceRunner` for commands) next to anything else.
public final class Monitor: Service, Sendable {
    /// The validated configuration.
    public let configuration: MonitorConfiguration
    private let logger: Logger
    private let extraConsumers: [any TickConsumer]
    private let connection: KubernetesConnection?
    private let routes: [ExtraRoute]
    private let latestMetrics = Mutex<MonitorMetrics?>(nil)

    /// The metrics of the run in progress, or of the latest one once it ended (nil before the
    /// first): what `/metrics` serves, for a caller in this process.
    public var metrics: MonitorMetrics? { latestMetrics.withLock { $0 } }

    /// Prepares a monitor; nothing is opened or started until `run()`.
    /// - Parameters:
    ///   - consumers: take every tick after the service's own (metrics, annotations, the plug
    ///     status log, the store), e.g. the demo's console line.
    ///   - kubernetes: the API server annotations go to when they are on, instead of the
    ///     configured kubeconfig or in-cluster connection (the offline cluster of
    ///     `workflow --simulate`).
    ///   - routes: further GET routes of the HTTP server, e.g. a dashboard panel's data
    ///     (`demo --cluster` adds `/api/v1/workflow`).
    public init(
        configuration: MonitorConfiguration,
        logger: Logger,
        consumers: [any TickConsumer] = [],
        kubernetes connection: KubernetesConnection? = nil,
        routes: [ExtraRoute] = []
    ) {
        self.configuration = configuration
        self.logger = logger
        self.extraConsumers = consumers
        self.connection = connection
        self.routes = routes
    }

    /// Opens the store, then polls, stores and serves until graceful shutdown or
    /// cancellation; the ticks already polled are stored before it returns, and the store is
    /// closed however it ends.
    public func run() async throws {
        // A shard polls, stores, serves and annotates its own nodes only; its API asks the
        // other shards for theirs.
        let assignment = try configuration.shards.map { (settings) throws(ShardError) in try settings.assignment() }
        let configuration = assignment.map { self.configuration.shardLocal($0) } ?? self.configuration
        let store = try EnergyStore(path: configuration.database, logger: logger)
        let client = CurlMultiClient()
        defer {
            client.shutdown()
            store.close()
        }
        let parts = try await Parts(
            configuration: configuration, store: store, client: client, connection: connection,
            extraConsumers: extraConsumers, logger: logger)
        latestMetrics.withLock { $0 = parts.metrics }
        let router = assignment.map { assignment in
            ShardRouter(
                assignment: assignment, peers: configuration.shards?.peers ?? [], nodes: self.configuration.nodes,
                fetch: { url in await Monitor.askPeer(url, client: client) })
        }
        let http = MetricsServer.makeApplication(
            host: configuration.listen.host,
            port: configuration.listen.port,
            metrics: parts.metrics,
            readiness: { await parts.readiness() },
            dashboard: DashboardAPI(
                store: store, nodes: configuration.nodes,
                intervalMilliseconds: configuration.intervalMilliseconds,
                devices: { [metrics = parts.metrics] node in metrics.health(of: node) },
                pendingGap: { [ledger = parts.ledger] node in
                    ledger.pendingGaps[node].map { ($0.fromMilliseconds, $0.toMilliseconds) }
                },
                router: router, rates: { [rates = parts.rates] in rates?.current ?? FootprintRates() }),
            routes: routes,
            logger: logger
        )
        let retention = RetentionService(
            store: store,
            rawMilliseconds: configuration.retentionRawMilliseconds,
            minuteMilliseconds: configuration.retentionMinuteMilliseconds,
            maxGapMilliseconds: 3 * configuration.intervalMilliseconds,
            logger: logger
        )
        // Shut down in reverse order: the HTTP server first, the publisher last, after the
        // final ticks are stored; the pin keeper after polling, so that it writes every pin the
        // last polls made. Graceful shutdown of the group that runs this service reaches this
        // inner group too.
        let podEnergy = try Monitor.makePodEnergyService(
            configuration: configuration, connection: connection, store: store, http: client, metrics: parts.metrics,
            logger: logger)
        let services: [any Service] =
            (parts.annotations.map { [$0] } ?? []) + [
                PinService(keeper: parts.pins, loop: parts.loop), PollService(parts: parts),
            ]
            + (podEnergy.map { [$0] } ?? []) + (parts.gridIntensity.map { [$0] } ?? []) + [retention, http]
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        logger.info(
            "energy-monitor started",
            metadata: [
                "plugs": "\(configuration.plugs.count)",
                "database": "\(configuration.database)",
                "listen": "\(configuration.listen)",
                "version": "\(EnergyMonitorVersion.string)",
                "shard": "\(assignment.map(\.description) ?? "none")",
            ]
        )
        if let assignment, configuration.plugs.isEmpty {
            logger.warning(
                "this shard owns none of the configured nodes", metadata: ["shard": "\(assignment)"])
        }
        // The liveness listener, when configured, lives outside the group's HTTP server.
        let health: HealthServer?
        if let address = configuration.healthListen {
            health = try await HealthServer.start(host: address.host, port: address.port) { parts.liveness() }
        } else {
            health = nil
        }
        do {
            try await group.run()
        } catch {
            await health?.stop()
            throw error
        }
        await health?.stop()
    }
}

extension Monitor {
    /// How long a query forwarded to another shard may take: every node of a shard over a
    /// long window takes its store a while. A peer that stops answering gives a 502 within it,
    /// never a request that hangs.
    static let peerTimeoutMilliseconds = 120_000

    /// How long connecting to another shard may take: a peer that is down (refused, no route)
    /// gives a 502 within it.
    static let peerConnectTimeoutMilliseconds = 3000

    /// The largest answer of a peer: an energy report of thousands of nodes is a few MiB.
    static let peerMaxResponseBytes = 64 << 20

    /// GETs `url` from another shard, marked as forwarded so that it is never forwarded again.
    static func askPeer(_ url: String, client: CurlMultiClient) async -> Result<ShardRouter.PeerAnswer, ShardError> {
        let request = HTTPRequest(
            url: url, headers: ["\(ShardRouter.forwardedHeader): 1"], timeoutMilliseconds: peerTimeoutMilliseconds,
            maxResponseBytes: peerMaxResponseBytes, connectTimeoutMilliseconds: peerConnectTimeoutMilliseconds)
        do {
            let response = try await client.perform(request)
            return .success(ShardRouter.PeerAnswer(status: response.status, body: response.body))
        } catch {
            return .failure(ShardError("\(error)".foldedToOneLine()))
        }
    }

    /// Most ticks waiting between the poll loop and the consumers. The consumers normally take
    /// a tick in milliseconds and the store keeps its own bounded backlog during an outage, so
    /// this only fills when a consumer stalls (a disk that takes seconds per write); beyond it
    /// the oldest waiting tick is dropped and its samples counted as dropped, as the backlog
    /// does, instead of memory growing without bound.
    static let tickQueueLimit = 32

    /// How far a stored sample may lie ahead of the clock at start before it is taken for one
    /// stamped by a clock that was ahead.
    static let futureToleranceMilliseconds: Int64 = 1000

    /// Threads of the poll executor: two keep up with 5,000 plugs on a machine of two cores;
    /// the HTTP client and the store's writer have threads of their own besides.
    static let pollThreads = 2

    /// Everything `run()` builds once the store is open.
    final class Parts: Sendable {
        let metrics: MonitorMetrics
        let loop: PollLoop
        let ledger: EnergyLedger
        /// The carbon intensity and price in force, when `carbon:` or `price:` is configured.
        let rates: RatesCell?
        /// The poller of the Electricity Maps API, when the intensity comes from there.
        let gridIntensity: GridIntensityPoller?
        let storeConsumer: StoreTickConsumer
        let annotations: AnnotationPublisher?
        /// Writes the pins the sessions make and tells them about pins cleared in the store.
        let pins: PinKeeper
        let store: EnergyStore
        let logger: Logger
        /// The threads polling and tick handling run on, away from the request handlers' pool.
        let executor: PollExecutor
        /// Every tick goes to these, in this order.
        let consumers: [any TickConsumer]
        /// When the latest tick started (monotonic nanoseconds), 0 before the first.
        private let lastTick = Atomic<Int64>(0)
        /// Longest time without a tick that still counts as alive.
        let stallNanoseconds: Int64
        /// Ticks waiting for the consumers, and whether a drop has been logged since the queue
        /// last ran empty (one line per stall, not one per dropped tick).
        private let queue = Mutex((waiting: 0, dropLogged: false))

        init(
            configuration: MonitorConfiguration, store: EnergyStore, client: CurlMultiClient,
            connection: KubernetesConnection?, extraConsumers: [any TickConsumer], logger: Logger
        ) async throws {
            self.store = store
            self.logger = logger
            self.stallNanoseconds = max(30_000, 10 * configuration.intervalMilliseconds) * 1_000_000
            let executor = PollExecutor(threads: Monitor.pollThreads)
            self.executor = executor
            // Samples stamped ahead of the clock were taken while the wall clock was ahead (a
            // board without a real-time clock before NTP, a resumed machine): new samples of
            // those times would stand beside them, and the counters would wait for the clock
            // to catch up. They are forgotten before the counters are read.
            let now = WallClock.nowMilliseconds()
            let ahead = try await store.rewind(toMilliseconds: now + Monitor.futureToleranceMilliseconds)
            var counters = try await store.loadCounters()
            try await store.setInterval(milliseconds: configuration.intervalMilliseconds)
            let nodes = configuration.nodes
            let maxGap = 3 * configuration.intervalMilliseconds
            // The intensity of Electricity Maps starts from the store's cache: what was learned
            // before a restart stays in force until the API answers.
            var cached: StepSeries?
            if case .electricityMaps(let settings) = configuration.footprint.carbon {
                cached = try await store.cachedIntensity(zone: settings.zone)
            }
            let rates = configuration.footprint.isEmpty ? nil : RatesCell(configuration.footprint.rates(cached: cached))
            self.rates = rates
            let metrics = MonitorMetrics(
                nodes: nodes, counters: counters, annotations: configuration.kubernetes.annotate,
                storeFaults: store.faults, rates: rates)
            self.metrics = metrics
            if case .electricityMaps(let settings) = configuration.footprint.carbon, let rates {
                let count = metrics.makeGridIntensityCounters(
                    endpoints: ElectricityMapsClient.Endpoint.allCases.map(\.rawValue),
                    results: ElectricityMapsClient.Failure.Kind.allCases.map(\.rawValue))
                self.gridIntensity = GridIntensityPoller(
                    settings: settings, client: client, store: store, rates: rates, logger: logger,
                    counts: { endpoint, result in count(endpoint.rawValue, result.rawValue) })
            } else {
                self.gridIntensity = nil
            }
            if ahead.samples > 0 {
                metrics.recordClockStep(.backward)
                logger.warning(
                    "the store held samples stamped ahead of the clock (taken while the wall clock was ahead); forgotten",
                    metadata: [
                        "samples": "\(ahead.samples)",
                        "aheadSeconds": "\(((ahead.newestMilliseconds ?? now) - now) / 1000)",
                    ])
            }
            let stored = try await store.pins()
            let pins = PinKeeper(store: store, stored: stored, logger: logger)
            self.pins = pins
            self.loop = PollLoop(
                plugs: configuration.plugs,
                intervalMilliseconds: configuration.intervalMilliseconds,
                client: client,
                executor: executor,
                pins: stored,
                onPin: { pins.record($0) },
                logger: logger
            )
            for (node, counter) in counters where (counter.lastTimestampMilliseconds ?? .min) > now {
                counters[node]?.lastTimestampMilliseconds = now
            }
            self.ledger = EnergyLedger(nodes: nodes, stored: counters, maxGapMilliseconds: maxGap, rates: rates)
            let annotations = try Monitor.makeAnnotationPublisher(
                configuration: configuration, connection: connection, http: client, metrics: metrics,
                logger: logger)
            self.annotations = annotations
            let storeConsumer = StoreTickConsumer(
                store: store, metrics: metrics, logger: logger, maxBacklogBytes: configuration.backlogBytes)
            self.storeConsumer = storeConsumer
            var consumers: [any TickConsumer] = [
                MetricsTickConsumer(metrics: metrics, maxAgeMilliseconds: maxGap)
            ]
            if let annotations { consumers.append(annotations) }
            consumers += [
                PlugStatusLog(logger: logger), DeviceRebootLog(logger: logger), DeviceCounterLog(logger: logger),
                GapLog(logger: logger), storeConsumer, StartupPageRelease(logger: logger),
            ]
            self.consumers = consumers + extraConsumers
        }

        /// Nil when ready (store open and the first tick stored), else the reason.
        func readiness() async -> String? {
            if let fault = store.faults.fileFault { return "store: \(fault)" }
            let (done, storeError) = storeConsumer.status
            if let storeError { return "store: \(storeError)" }
            guard done else { return "first tick not done yet" }
            guard await store.ping() else { return "store not answering" }
            return nil
        }

        /// Nil while the poll loop ticks, else how long it has not: what the health listener
        /// answers a liveness probe (a stalled loop measures nothing; a restart may help).
        func liveness() -> String? {
            let last = lastTick.load(ordering: .relaxed)
            guard last > 0 else { return nil }
            let silent = MonotonicClock.nowNanoseconds() - last
            guard silent > stallNanoseconds else { return nil }
            return "no poll tick for \(silent / 1_000_000_000) s"
        }

        /// Polls until graceful shutdown (or cancellation); every tick is handed to the
        /// consumers by this task while the loop polls in another, so a slow disk never delays
        /// the next tick. On graceful shutdown polling stops and the ticks already taken are
        /// still stored, with whatever still waits from a store outage.
        func runPolling() async {
            defer { executor.shutdown() }
            let (stream, continuation) = AsyncStream.makeStream(
                of: TickReport.self, bufferingPolicy: .bufferingNewest(Monitor.tickQueueLimit))
            let producer = Task(executorPreference: executor) {
                await self.loop.run { report in
                    self.lastTick.store(MonotonicClock.nowNanoseconds(), ordering: .relaxed)
                    // Counted before the yield, so that the consumer never sees it uncounted.
                    self.queue.withLock { $0.waiting += 1 }
                    switch continuation.yield(report) {
                    case .enqueued: break
                    case .dropped(let oldest):
                        // One in, one out.
                        self.queue.withLock { $0.waiting -= 1 }
                        self.dropped(oldest)
                    case .terminated: self.queue.withLock { $0.waiting -= 1 }
                    @unknown default: break
                    }
                }
                continuation.finish()
            }
            await withTaskExecutorPreference(executor) {
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
        }

        private func handle(_ report: TickReport) async {
            queue.withLock { queue in
                queue.waiting -= 1
                if queue.waiting <= 0 { queue = (0, false) }
            }
            if report.clockStepMilliseconds != 0 { await clockStepped(report) }
            let tick = ledger.advance(report)
            for (node, request) in tick.historyRequests { loop.requestHistory(node: node, request) }
            for consumer in consumers {
                await consumer.consume(tick)
            }
        }

        /// A step of the wall clock, seen by the poll loop before `report`'s tick: logged with
        /// its size and counted. After a step back, what was stamped from the tick's boundary
        /// on (in the store, in its backlog) came from a clock that was ahead: it is forgotten,
        /// so that no second of a node is stored twice and no minute packed twice. The counters
        /// do not notice: they measure time on the monotonic clock.
        private func clockStepped(_ report: TickReport) async {
            let step = report.clockStepMilliseconds
            let direction: ClockStepDirection = step > 0 ? .forward : .backward
            metrics.recordClockStep(direction)
            logger.warning(
                "the wall clock was stepped",
                metadata: ["direction": "\(direction.rawValue)", "milliseconds": "\(step)"])
            guard direction == .backward else { return }
            let mark = report.tickMilliseconds
            ledger.rewind(to: mark)
            do {
                let forgotten = try await storeConsumer.rewind(to: mark)
                if forgotten.samples > 0 {
                    logger.warning(
                        "samples stamped by the clock before it was set back are forgotten",
                        metadata: ["samples": "\(forgotten.samples)", "from": "\(mark)"])
                }
            } catch {
                logger.error(
                    "cannot forget the samples stamped before the clock was set back",
                    metadata: ["error": "\(error.summary)"])
            }
        }

        /// A tick pushed out of the full queue: its samples are lost, as the backlog's
        /// dropped samples are, counted and logged once per stall.
        private func dropped(_ report: TickReport) {
            let samples = report.outcomes.reduce(0) { count, outcome in
                if case .success = outcome.result { return count + 1 }
                return count
            }
            metrics.recordDroppedSamples(samples)
            let first = queue.withLock { queue in
                defer { queue.dropLogged = true }
                return !queue.dropLogged
            }
            if first {
                logger.error(
                    "ticks wait longer than the consumers take them; dropping the oldest",
                    metadata: ["limit": "\(Monitor.tickQueueLimit) ticks"])
            }
        }
    }
}

/// The poll loop as a lifecycle service.
struct PollService: Service {
    let parts: Monitor.Parts

    func run() async throws {
        await parts.runPolling()
    }
}

import AnnotationContract
import ClusterSimulator
import CurlClient
import EnergyModel
import EnergyQueries
import Exporter
import Foundation
import JSON
import Kubernetes
import Logging
import MonitorService
import PodEnergy
import SchedulerExtender
import Scoring
import ServiceLifecycle
import ShellyPoller
import ShellySimulator
import Store
import Synchronization
import UserInput
import Workflow

/// Why the offline cluster cannot run, in one line.
public struct OfflineClusterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// The whole loop of the thesis on one machine, in this process: a simulated plug per
/// knowledge-base node, the monitor polling them with node annotations on, a Kubernetes API
/// stand-in (`ClusterSimulator`) whose pods the real extender (energy scheduler) or the
/// default scheduler's model places, and workloads that run for their work over the
/// knowledge base's rate while their node's plug draws the entry's power. The runner drives
/// it through `cluster` and measures through `energy`, exactly as against a real cluster.
///
/// Its parts run as one `ServiceGroup` (plugs, API stand-in, extender, monitor): `stop()`
/// shuts them down in reverse order, the monitor first (its last ticks stored), the plugs last.
public final class OfflineCluster: Sendable {
    /// What to simulate.
    public struct Configuration: Sendable {
        /// The knowledge base file (ConfigMap manifest or `profiles.yaml`): nodes, rates, power;
        /// nil for the built-in one (`BuiltInDefaults.knowledgeBaseText`).
        public var knowledgeBasePath: String?
        /// The workflow: every phase needs `work:`.
        public var workflow: WorkflowDefinition
        /// A real second stands for this many simulated ones (1 or more).
        public var timeScale: Double
        /// Watts a node's plug reads at rest instead of the knowledge base's idle power.
        public var restingWatts: [String: Double]
        /// CPU (millicores) and memory (bytes) of nodes instead of the defaults.
        public var capacities: [String: (cpuMillicores: Int64, memoryBytes: Int64)]
        /// Seeds the schedulers' tie-breaks.
        public var seed: UInt64
        /// The monitor's database.
        public var databasePath: String
        /// Where the monitor's HTTP server (metrics, dashboard, API) listens; port 0 picks one.
        public var monitorListen: ListenAddress
        /// Further routes of the monitor's HTTP server, e.g. a `PhaseFeed`'s dashboard panel.
        public var routes: [ExtraRoute]
        /// Shared nodes with per-pod energy (nil: the thesis's setting, one pod per node, no
        /// metrics-server).
        public var shared: SharedNodes?
        /// How long each call to the extender may take; then the pod is placed without
        /// energy scoring, as kube-scheduler does with an ignorable extender. 5 s, the shipped
        /// scheduler configuration's `httpTimeout`.
        public var extenderTimeoutMilliseconds: Int

        /// Creates a configuration.
        public init(
            knowledgeBasePath: String?, workflow: WorkflowDefinition, timeScale: Double = 1,
            restingWatts: [String: Double] = [:],
            capacities: [String: (cpuMillicores: Int64, memoryBytes: Int64)] = [:],
            seed: UInt64 = 1, databasePath: String,
            monitorListen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0), routes: [ExtraRoute] = [],
            shared: SharedNodes? = nil, extenderTimeoutMilliseconds: Int = 5000
        ) {
            self.extenderTimeoutMilliseconds = extenderTimeoutMilliseconds
            self.routes = routes
            self.shared = shared
            self.knowledgeBasePath = knowledgeBasePath
            self.workflow = workflow
            self.timeScale = timeScale
            self.restingWatts = restingWatts
            self.capacities = capacities
            self.seed = seed
            self.databasePath = databasePath
            self.monitorListen = monitorListen
        }
    }

    /// The nodes as simulated.
    public let nodes: [OfflineNode]
    /// The knowledge base in use.
    public let knowledgeBase: KnowledgeBase
    /// The Kubernetes API stand-in.
    public let simulator: ClusterSimulator
    /// The plugs.
    public let plugs: ShellySimulator
    /// The extender's base URL (`http://127.0.0.1:PORT`).
    public let extenderURL: String
    /// The cluster as the runner sees it.
    public let cluster: any WorkflowCluster
    private let scheduling: OfflineScheduling
    private let http: CurlMultiClient
    private let running: RunningGroup
    private let energySource: Mutex<StoreEnergySource?>
    /// The cores of the background pods whose load changed, by index.
    private let backgroundCores = Mutex<[Int: Double]>([:])
    private let databasePath: String
    /// The folder of the built-in knowledge base's file, removed at `stop()`.
    private let scratch: String?

    /// Checks `configuration` and starts everything; returns once every node carries a power
    /// annotation (so the first placement sees live watts).
    public static func start(_ configuration: Configuration, logger: Logger) async throws
        -> OfflineCluster
    {
        var scratch: String?
        let knowledgeBasePath: String
        if let path = configuration.knowledgeBasePath {
            knowledgeBasePath = path
        } else {
            // The extender watches a file, as in a cluster: the built-in one is written out.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "energy-monitor-offline-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                knowledgeBasePath = folder.appendingPathComponent("knowledge-base.yaml").path
                try Data(BuiltInDefaults.knowledgeBaseText.utf8).write(
                    to: URL(fileURLWithPath: knowledgeBasePath))
            } catch {
                throw OfflineClusterError("cannot write the built-in knowledge base: \(error)")
            }
            scratch = folder.path
        }
        do {
            return try await start(
                configuration, knowledgeBasePath: knowledgeBasePath, scratch: scratch, logger: logger)
        } catch {
            if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
            throw error
        }
    }

    private static func start(
        _ configuration: Configuration, knowledgeBasePath: String, scratch: String?, logger: Logger
    ) async throws -> OfflineCluster {
        let knowledgeBase: KnowledgeBase
        do { knowledgeBase = try KnowledgeBase(contentsOfFile: knowledgeBasePath) } catch {
            throw OfflineClusterError("--knowledge-base: \(error)")
        }
        for phase in configuration.workflow.phases where phase.work == nil {
            throw OfflineClusterError(
                "\(phase.name): no work: for --simulate (e.g. work: { units: 3500, ratePer: 1m }, in the knowledge base's units)"
            )
        }
        for phase in configuration.workflow.phases {
            do { _ = try knowledgeBase.profile(named: phase.profile) } catch {
                throw OfflineClusterError("\(phase.name): \(error)")
            }
        }
        var nodes = OfflineNode.nodes(of: knowledgeBase)
        guard !nodes.isEmpty else { throw OfflineClusterError("--knowledge-base: it names no node") }
        let known = Set(nodes.map(\.name))
        for name in Array(configuration.restingWatts.keys) + Array(configuration.capacities.keys)
        where !known.contains(name) {
            throw OfflineClusterError(
                "node \(name) is not in the knowledge base (its nodes: \(nodes.map(\.name).joined(separator: ", ")))"
            )
        }
        for index in nodes.indices {
            if let watts = configuration.restingWatts[nodes[index].name] {
                nodes[index].restingWatts = watts
            }
            if let capacity = configuration.capacities[nodes[index].name] {
                nodes[index].cpuMillicores = capacity.cpuMillicores
                nodes[index].memoryBytes = capacity.memoryBytes
            }
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let watcher: KnowledgeBaseWatcher
        do { watcher = try KnowledgeBaseWatcher(path: knowledgeBasePath, logger: quiet) } catch {
            throw OfflineClusterError("--knowledge-base: \(error)")
        }

        // The plugs: Gen2 devices at rest, with the simulator's usual small drift and ripple.
        // They and the API stand-in listen once started, so their addresses are known before
        // the monitor's configuration is made.
        let shared = configuration.shared
        if let shared {
            guard shared.staticFactor.isFinite, shared.staticFactor > 0, shared.wattsPerCore.isFinite,
                shared.wattsPerCore > 0, shared.systemCores.isFinite, shared.systemCores >= 0,
                shared.metricsResolutionMilliseconds >= 1000
            else {
                throw OfflineClusterError(
                    "shared nodes: static factor and watts per core must be positive, system cores not negative, the metrics resolution at least 1s"
                )
            }
            for (node, cores) in shared.background {
                guard known.contains(node) else {
                    throw OfflineClusterError(
                        "--background: node \(node) is not in the knowledge base (its nodes: \(nodes.map(\.name).joined(separator: ", ")))"
                    )
                }
                guard cores.isFinite, cores > 0, cores <= 1024 else {
                    throw OfflineClusterError("--background: \(node)=\(cores): cores must be above 0 and at most 1024")
                }
            }
        }
        // At rest a plug reads the node's static power: the knowledge base's idle power, or
        // with shared nodes that times the static factor, plus the system load's power.
        let plugs = try await ShellySimulator.start(
            plugs: nodes.enumerated().map { index, node in
                let resting =
                    shared.map { node.restingWatts * $0.staticFactor + $0.wattsPerCore * $0.systemCores }
                    ?? node.restingWatts
                return .init(
                    node: node.name, port: 0, generation: 2,
                    profile: LoadProfile(
                        idleWatts: resting, jobWatts: 0, driftWatts: 0.01 * resting,
                        rippleWatts: 0.005 * resting, phaseSeconds: Double(index) * 13))
            })
        let http = CurlMultiClient()
        let scheduling = OfflineScheduling(
            nodes: nodes, knowledgeBase: knowledgeBase, workflow: configuration.workflow,
            timeScale: max(1, configuration.timeScale), http: http, plugs: plugs, seed: configuration.seed,
            shared: shared, extenderTimeoutMilliseconds: max(1, configuration.extenderTimeoutMilliseconds),
            logger: quiet
        )
        let simulator = ClusterSimulator(
            configuration: .init(
                nodes: nodes.map { SimulatedNode(name: $0.name) },
                metrics: shared.map { shared in
                    ResourceMetricsModel(
                        resolutionMilliseconds: shared.metricsResolutionMilliseconds,
                        systemCores: Dictionary(
                            nodes.map { ($0.name, shared.systemCores) }, uniquingKeysWith: { first, _ in first }))
                }),
            lifecycle: scheduling,
            logger: quiet)
        var running: RunningGroup?
        do {
            try await simulator.start()
            scheduling.attach(simulator)

            // The extender, as the energy scheduler's sidecar.
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let extender = ExtenderServer.makeApplication(
                configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)), watcher: watcher,
                metrics: ExtenderMetrics(),
                logger: quiet, onServerRunning: { continuation.yield($0) })

            // The monitor, annotating the stand-in's nodes.
            var monitorConfiguration = MonitorConfiguration()
            monitorConfiguration.database = configuration.databasePath
            monitorConfiguration.listen = configuration.monitorListen
            monitorConfiguration.kubernetes.annotate = true
            monitorConfiguration.kubernetes.heartbeatMilliseconds = 5000
            monitorConfiguration.plugs = nodes.map {
                var plug = PlugConfiguration(
                    node: $0.name, baseURL: "http://127.0.0.1:\(plugs.port(of: $0.name) ?? 0)")
                plug.transport = .http
                return plug
            }
            if let shared {
                var pods = MonitorConfiguration.PodEnergySettings()
                pods.enabled = true
                pods.staticPower = StaticPowerPolicy(rawValue: shared.staticPower) ?? .requests
                pods.metricsIntervalMilliseconds = shared.metricsResolutionMilliseconds
                // The knowledge base's idle power, which the simulated static power differs from.
                pods.startingWatts = Dictionary(
                    nodes.map { ($0.name, $0.restingWatts) }, uniquingKeysWith: { first, _ in first })
                pods.nodeCores = Dictionary(
                    nodes.map { ($0.name, Double($0.cpuMillicores) / 1000) }, uniquingKeysWith: { first, _ in first })
                monitorConfiguration.kubernetes.podEnergy = pods
            }
            do { try monitorConfiguration.validate() } catch {
                throw OfflineClusterError("monitor: \(error)")
            }
            let monitor = Monitor(
                configuration: monitorConfiguration, logger: quiet, kubernetes: try simulator.connection(),
                routes: configuration.routes)

            // One group, stopped in reverse order: the monitor first, the plugs last.
            let group = RunningGroup(
                services: [SimulatorService(plugs: plugs, cluster: simulator), extender, monitor],
                logger: quiet)
            running = group
            let extenderPort = try await Self.first(
                ports, within: .seconds(20), what: "the extender to listen", group: group)
            let extenderURL = "http://127.0.0.1:\(extenderPort)"
            scheduling.attachExtender(url: extenderURL)

            let client = KubernetesClient(
                connection: try simulator.connection(), http: http, logger: quiet,
                timeoutMilliseconds: 15_000)
            let offline = OfflineCluster(
                nodes: nodes, knowledgeBase: knowledgeBase, simulator: simulator, plugs: plugs,
                extenderURL: extenderURL, cluster: KubernetesWorkflowCluster(client: client),
                scheduling: scheduling,
                http: http, running: group, databasePath: configuration.databasePath, scratch: scratch)
            try await offline.awaitAnnotations(within: .seconds(30), group: group)
            if let shared { try await offline.startBackground(shared, client: client) }
            return offline
        } catch {
            if let running {
                await running.stop()
            } else {
                await simulator.stop()
                await plugs.shutdown()
            }
            http.shutdown()
            if let error = error as? OfflineClusterError { throw error }
            throw OfflineClusterError("offline cluster: \(error)")
        }
    }

    private init(
        nodes: [OfflineNode], knowledgeBase: KnowledgeBase, simulator: ClusterSimulator,
        plugs: ShellySimulator,
        extenderURL: String, cluster: any WorkflowCluster, scheduling: OfflineScheduling,
        http: CurlMultiClient,
        running: RunningGroup, databasePath: String, scratch: String?
    ) {
        self.nodes = nodes
        self.knowledgeBase = knowledgeBase
        self.simulator = simulator
        self.plugs = plugs
        self.extenderURL = extenderURL
        self.cluster = cluster
        self.scheduling = scheduling
        self.http = http
        self.running = running
        self.energySource = Mutex(nil)
        self.databasePath = databasePath
        self.scratch = scratch
    }

    /// Waits until every node carries the monitor's power annotation; fails at once when a
    /// part of the group ended (the monitor could not open its store, say).
    private func awaitAnnotations(within limit: Duration, group: RunningGroup) async throws {
        let deadline = ContinuousClock.now + limit
        let key = PowerAnnotationContract().wattsKey
        while ContinuousClock.now < deadline {
            if let error = group.endedError { throw OfflineClusterError("\(error)") }
            let annotated = await simulator.nodes().filter { $0.annotations[key] != nil }.count
            if annotated == nodes.count { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw OfflineClusterError("the monitor did not annotate every node within \(limit)")
    }

    /// The first value of `stream`, or an error after `limit` or once `group` has ended (a
    /// part that failed to start ends the group).
    private static func first(
        _ stream: AsyncStream<Int>, within limit: Duration, what: String, group: RunningGroup
    ) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        return try await withThrowingTaskGroup(of: Int?.self) { tasks in
            tasks.addTask {
                for await value in stream { return value }
                return nil
            }
            tasks.addTask {
                while ContinuousClock.now < deadline {
                    if let error = group.endedError { throw OfflineClusterError("\(what): \(error)") }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            defer { tasks.cancelAll() }
            guard let value = try await tasks.next() ?? nil else {
                throw OfflineClusterError("timed out waiting for \(what)")
            }
            return value
        }
    }

    /// The monitor's store, read as `workflow --database` reads it.
    public func energy() async throws -> any EnergySource {
        if let source = energySource.withLock({ $0 }) { return source }
        let source = try await StoreEnergySource(path: databasePath, intervalMilliseconds: 1000)
        energySource.withLock { $0 = source }
        return source
    }

    /// The placements made so far, oldest first.
    public var placements: [PlacementRecord] { scheduling.placements }

    /// The phases' runs so far, oldest first.
    public var workloads: [WorkloadRecord] { scheduling.workloads }

    /// The exact joules `node`'s plug drew over `[from, to)` (unix milliseconds), real time.
    public func groundTruthJoules(node: String, fromMilliseconds: Int64, toMilliseconds: Int64)
        -> Double?
    {
        plugs.plug(of: node)?.joules(
            from: Double(fromMilliseconds) / 1000, to: Double(toMilliseconds) / 1000)
    }

    /// The background pods of shared nodes: one Job of one pod per entry, bound to its node,
    /// loading it with its cores until the cluster stops; returns once each one runs.
    private func startBackground(_ shared: SharedNodes, client: KubernetesClient) async throws {
        for (index, entry) in shared.background.enumerated() {
            let name = "background-\(index)-\(entry.node)"
            let labels: JSONValue = [
                SharedNodes.backgroundNodeLabel: .string(entry.node),
                SharedNodes.backgroundCoresLabel: .string("\(entry.cores)"),
            ]
            let job: JSONValue = [
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": ["name": .string(name), "namespace": .string(SharedNodes.backgroundNamespace)],
                "spec": [
                    "template": [
                        "metadata": ["labels": labels],
                        "spec": [
                            "restartPolicy": "Never",
                            "containers": [
                                [
                                    "name": "load", "image": "busybox",
                                    "resources": [
                                        "requests": ["cpu": .string("\(Int64(clampingRounding: entry.cores * 1000))m")]
                                    ],
                                ]
                            ],
                        ],
                    ]
                ],
            ]
            // A create whose answer was lost on a busy machine is asked again, for as long as
            // three minutes (the API is this process's own, so a slow answer is a busy machine,
            // not a broken server); the Job it made then answers 409.
            let deadline = ContinuousClock.now + .seconds(180)
            var attempts = 0
            while true {
                do {
                    attempts += 1
                    _ = try await client.post(
                        path: "/apis/batch/v1/namespaces/\(SharedNodes.backgroundNamespace)/jobs", body: job.serialized)
                    break
                } catch {
                    if error.status?.code == 409 { break }
                    guard ContinuousClock.now < deadline else {
                        throw OfflineClusterError("background pod on \(entry.node): \(error) (\(attempts) attempts)")
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let running = await simulator.pods().filter {
                $0.namespace == SharedNodes.backgroundNamespace && $0.phase == .running
            }
            if running.count >= shared.background.count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard ContinuousClock.now < deadline else {
            throw OfflineClusterError("the background pods did not start within 2 minutes")
        }
        // The first phase's attributed figure needs per-pod energy to be seen working: a row of
        // its first window. Without one, a phase that ends before it is written (a loaded
        // machine) would read as a monitor without per-pod energy and leave the column empty.
        let store: EnergyStore
        do {
            store = try EnergyStore(path: databasePath, readOnly: true)
        } catch {
            throw OfflineClusterError("the monitor's store \(databasePath): \(error)")
        }
        defer { store.close() }
        let attributedBy = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < attributedBy {
            let now = WallClock.nowMilliseconds()
            if let rows = try? await store.podEnergy(
                namespace: SharedNodes.backgroundNamespace, fromMilliseconds: now - 3_600_000,
                toMilliseconds: now + 60_000),
                !rows.isEmpty
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw OfflineClusterError("per-pod energy wrote no window within 2 minutes of the background pods' start")
    }

    /// Changes the load of background pod `index` (in the order of `SharedNodes.background`)
    /// to `cores` from now on: its CPU as the metrics-server reports it and its node's plug
    /// together.
    public func setBackgroundLoad(index: Int, cores: Double, shared: SharedNodes) async throws {
        guard shared.background.indices.contains(index), cores.isFinite, cores >= 0 else {
            throw OfflineClusterError("no background pod \(index), or cores not a finite number >= 0")
        }
        let node = shared.background[index].node
        guard
            let pod = await simulator.pods().first(where: {
                $0.namespace == SharedNodes.backgroundNamespace && $0.job?.name == "background-\(index)-\(node)"
                    && $0.phase == .running
            })
        else { throw OfflineClusterError("background pod \(index) is not running") }
        let previous = backgroundCores.withLock { $0[index] ?? shared.background[index].cores }
        // The plug and the CPU change at the same instant, however late the second call is.
        let now = Date().timeIntervalSince1970
        plugs.plug(of: node)?.addLoad(
            .init(watts: (cores - previous) * shared.wattsPerCore, from: now, to: now + 30 * 86_400))
        await simulator.setCPULoad(
            pod: pod.name, namespace: pod.namespace, cores: cores, fromMilliseconds: Int64(clampingRounding: now * 1000)
        )
        backgroundCores.withLock { $0[index] = cores }
    }

    /// The pods' attributed energy over `[from, to)` (unix milliseconds), from the monitor's
    /// store, as `GET /api/v1/pods` answers.
    public func podReport(from: Int64, to: Int64, namespace: String? = nil) async throws -> PodEnergyReport {
        let store = try EnergyStore(path: databasePath, readOnly: true)
        defer { store.close() }
        return try await PodEnergyReport.compute(
            store: store, namespace: namespace, node: nil, fromMilliseconds: from, toMilliseconds: to,
            intervalMilliseconds: 1000)
    }

    /// The CPU seconds a pod used over `[from, to)` (unix milliseconds), as the simulated
    /// metrics-server averages them: the truth per-pod energy is measured against.
    public func cpuSeconds(pod: String, namespace: String, fromMilliseconds: Int64, toMilliseconds: Int64) async
        -> Double
    {
        await simulator.cpuSeconds(pod: pod, namespace: namespace, from: fromMilliseconds, to: toMilliseconds)
    }

    /// Removes a node from the cluster (its running pods fail with `NodeLost`) and ends the
    /// load its workloads put on its plug.
    public func removeNode(_ name: String) async throws {
        try await simulator.removeNode(name)
        let now = Date().timeIntervalSince1970
        plugs.plug(of: name)?.endLoad(at: now)
        scheduling.loadsEnded(node: name, at: now)
    }

    /// Unplugs a node's plug: the monitor's polls of it fail from now on.
    public func disconnectPlug(_ name: String) async {
        await plugs.disconnect(node: name)
    }

    /// Stops the monitor (its last ticks stored), the extender, the API stand-in and the plugs.
    public func stop() async {
        energySource.withLock { source in
            source?.close()
            source = nil
        }
        await running.stop()
        http.shutdown()
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }
}

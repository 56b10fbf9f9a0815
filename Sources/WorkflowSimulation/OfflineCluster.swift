import AnnotationContract
import ClusterSimulator
import CurlClient
import Exporter
import Foundation
import Kubernetes
import Logging
import MonitorService
import SchedulerExtender
import Scoring
import ServiceLifecycle
import ShellySimulator
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
public final class OfflineCluster: Sendable {
    /// What to simulate.
    public struct Configuration: Sendable {
        /// The knowledge base file (ConfigMap manifest or `profiles.yaml`): nodes, rates, power.
        public var knowledgeBasePath: String
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
        public var monitorHost: String
        /// Its port.
        public var monitorPort: Int
        /// Phases the monitor's dashboard shows, if any.
        public var phases: PhaseFeed?

        /// Creates a configuration.
        public init(
            knowledgeBasePath: String, workflow: WorkflowDefinition, timeScale: Double = 1,
            restingWatts: [String: Double] = [:], capacities: [String: (cpuMillicores: Int64, memoryBytes: Int64)] = [:],
            seed: UInt64 = 1, databasePath: String, monitorHost: String = "127.0.0.1", monitorPort: Int = 0,
            phases: PhaseFeed? = nil
        ) {
            self.phases = phases
            self.knowledgeBasePath = knowledgeBasePath
            self.workflow = workflow
            self.timeScale = timeScale
            self.restingWatts = restingWatts
            self.capacities = capacities
            self.seed = seed
            self.databasePath = databasePath
            self.monitorHost = monitorHost
            self.monitorPort = monitorPort
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
    /// The monitor.
    public let monitor: Monitor
    /// The extender's base URL (`http://127.0.0.1:PORT`).
    public let extenderURL: String
    /// The cluster as the runner sees it.
    public let cluster: any WorkflowCluster
    private let scheduling: OfflineScheduling
    private let http: CurlMultiClient
    private let groups: [ServiceGroup]
    private let tasks: Mutex<[Task<Void, Never>]>
    private let energySource: Mutex<StoreEnergySource?>
    private let databasePath: String

    /// Checks `configuration` and starts everything; returns once every node carries a power
    /// annotation (so the first placement sees live watts).
    public static func start(_ configuration: Configuration, logger: Logger) async throws -> OfflineCluster {
        let knowledgeBase: KnowledgeBase
        do { knowledgeBase = try KnowledgeBase(contentsOfFile: configuration.knowledgeBasePath) } catch {
            throw OfflineClusterError("--knowledge-base: \(error)")
        }
        for phase in configuration.workflow.phases where phase.work == nil {
            throw OfflineClusterError(
                "\(phase.name): no work: for --simulate (e.g. work: { units: 3500, ratePer: 1m }, in the knowledge base's units)")
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
                "node \(name) is not in the knowledge base (its nodes: \(nodes.map(\.name).joined(separator: ", ")))")
        }
        for index in nodes.indices {
            if let watts = configuration.restingWatts[nodes[index].name] { nodes[index].restingWatts = watts }
            if let capacity = configuration.capacities[nodes[index].name] {
                nodes[index].cpuMillicores = capacity.cpuMillicores
                nodes[index].memoryBytes = capacity.memoryBytes
            }
        }

        // The plugs: Gen2 devices at rest, with the simulator's usual small drift and ripple.
        let plugs = try await ShellySimulator.start(
            plugs: nodes.enumerated().map { index, node in
                .init(
                    node: node.name, port: 0, generation: 2,
                    profile: LoadProfile(
                        idleWatts: node.restingWatts, jobWatts: 0, driftWatts: 0.01 * node.restingWatts,
                        rippleWatts: 0.005 * node.restingWatts, phaseSeconds: Double(index) * 13))
            })
        var groups: [ServiceGroup] = []
        var tasks: [Task<Void, Never>] = []
        var started: ClusterSimulator?
        let http = CurlMultiClient()
        func stopStarted() async {
            for group in groups.reversed() { await group.triggerGracefulShutdown() }
            for task in tasks { await task.value }
            await started?.stop()
            await plugs.shutdown()
            http.shutdown()
        }
        do {
            // The extender, as the energy scheduler's sidecar.
            var quiet = logger
            quiet.logLevel = max(logger.logLevel, .warning)
            let watcher = try KnowledgeBaseWatcher(path: configuration.knowledgeBasePath, logger: quiet)
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let application = ExtenderServer.makeApplication(
                configuration: .init(listen: ListenAddress(host: "127.0.0.1", port: 0)), watcher: watcher, metrics: ExtenderMetrics(),
                logger: quiet, onServerRunning: { continuation.yield($0) })
            let extenderGroup = ServiceGroup(
                configuration: .init(services: [application], gracefulShutdownSignals: [], logger: quiet))
            groups.append(extenderGroup)
            tasks.append(Task { try? await extenderGroup.run() })
            let extenderPort = try await Self.first(ports, within: .seconds(20), what: "the extender to listen")

            // The API stand-in, its pods placed and run by the scheduling model.
            let scheduling = OfflineScheduling(
                nodes: nodes, knowledgeBase: knowledgeBase, workflow: configuration.workflow,
                timeScale: max(1, configuration.timeScale), extenderURL: "http://127.0.0.1:\(extenderPort)", http: http,
                plugs: plugs, seed: configuration.seed)
            let simulator = ClusterSimulator(
                configuration: .init(nodes: nodes.map { SimulatedNode(name: $0.name) }), lifecycle: scheduling,
                logger: quiet)
            started = simulator
            try await simulator.start()
            scheduling.attach(simulator)

            // The monitor, annotating the stand-in's nodes.
            let plugLines = nodes.map {
                "  - { node: \($0.name), address: \"127.0.0.1:\(plugs.port(of: $0.name) ?? 0)\", transport: http }"
            }
            let yaml = """
                interval: 1s
                database: \(Self.quoted(configuration.databasePath))
                listen: 127.0.0.1:9840
                kubernetes:
                  annotate: true
                  heartbeat: 5s
                plugs:
                \(plugLines.joined(separator: "\n"))
                """
            var monitorConfiguration = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/")
            monitorConfiguration.listen = ListenAddress(host: configuration.monitorHost, port: configuration.monitorPort)
            let monitor = try await Monitor(
                configuration: monitorConfiguration, logger: quiet, kubernetes: try simulator.connection(),
                phases: configuration.phases)
            let monitorGroup = ServiceGroup(
                configuration: .init(
                    services: monitor.makeServices().map { .init(service: $0) }, gracefulShutdownSignals: [],
                    logger: quiet))
            groups.append(monitorGroup)
            tasks.append(Task { try? await monitorGroup.run() })

            let client = KubernetesClient(
                connection: try simulator.connection(), http: http, logger: quiet, timeoutMilliseconds: 15_000)
            let offline = OfflineCluster(
                nodes: nodes, knowledgeBase: knowledgeBase, simulator: simulator, plugs: plugs, monitor: monitor,
                extenderURL: "http://127.0.0.1:\(extenderPort)",
                cluster: KubernetesWorkflowCluster(client: client), scheduling: scheduling, http: http,
                groups: groups, tasks: tasks, databasePath: configuration.databasePath)
            try await offline.awaitAnnotations(within: .seconds(30))
            return offline
        } catch {
            await stopStarted()
            if let error = error as? OfflineClusterError { throw error }
            throw OfflineClusterError("offline cluster: \(error)")
        }
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\x%02X", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    private init(
        nodes: [OfflineNode], knowledgeBase: KnowledgeBase, simulator: ClusterSimulator, plugs: ShellySimulator,
        monitor: Monitor, extenderURL: String, cluster: any WorkflowCluster, scheduling: OfflineScheduling,
        http: CurlMultiClient, groups: [ServiceGroup], tasks: [Task<Void, Never>], databasePath: String
    ) {
        self.nodes = nodes
        self.knowledgeBase = knowledgeBase
        self.simulator = simulator
        self.plugs = plugs
        self.monitor = monitor
        self.extenderURL = extenderURL
        self.cluster = cluster
        self.scheduling = scheduling
        self.http = http
        self.groups = groups
        self.tasks = Mutex(tasks)
        self.energySource = Mutex(nil)
        self.databasePath = databasePath
    }

    /// Waits until every node carries the monitor's power annotation.
    private func awaitAnnotations(within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        let key = PowerAnnotationContract().wattsKey
        while ContinuousClock.now < deadline {
            let annotated = await simulator.nodes().filter { $0.annotations[key] != nil }.count
            if annotated == nodes.count { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw OfflineClusterError("the monitor did not annotate every node within \(limit)")
    }

    private static func first(_ stream: AsyncStream<Int>, within limit: Duration, what: String) async throws -> Int {
        try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                for await value in stream { return value }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let value = try await group.next() ?? nil else {
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
    public func groundTruthJoules(node: String, fromMilliseconds: Int64, toMilliseconds: Int64) -> Double? {
        plugs.plug(of: node)?.joules(from: Double(fromMilliseconds) / 1000, to: Double(toMilliseconds) / 1000)
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
        for group in groups.reversed() { await group.triggerGracefulShutdown() }
        let running = tasks.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in running { await task.value }
        monitor.close()
        await simulator.stop()
        await plugs.shutdown()
        http.shutdown()
    }
}

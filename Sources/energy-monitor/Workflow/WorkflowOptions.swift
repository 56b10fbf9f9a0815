import ArgumentParser
import CurlClient
import EnergyModel
import Foundation
import Kubernetes
import Logging
import MonitorService
import Scoring
import Workflow
import WorkflowSimulation

/// The options `workflow run` and `workflow sweep` share.
struct WorkflowOptions: ParsableArguments {
    @Option(name: .long, help: "The workflow file (YAML).")
    var workflow: String

    @Option(name: .long, help: "Results file (CSV); rows are appended, the header written when it is new.")
    var output: String

    @Option(name: .long, help: "Namespace of the Jobs (default: the workflow file's, else default).")
    var namespace: String?

    @Option(name: .long, help: "The monitor's base URL, e.g. http://127.0.0.1:9840 (a port-forward) or its Service.")
    var monitor: String?

    @Option(
        name: .long,
        help:
            "The monitor's SQLite database instead of --monitor (on the monitor's node); with --simulate, where the offline monitor keeps it (default: a temporary folder)."
    )
    var database: String?

    @Option(name: .long, help: "Poll interval for --database (default: as recorded by the service).")
    var interval: String?

    @Option(
        name: .long,
        help:
            "The service's configuration file: its carbon: and price: give each row's GramsCO2e and Cost, integrated minute by minute."
    )
    var config: String?

    @Option(
        name: .long,
        help:
            "Knowledge base (ConfigMap manifest or profiles.yaml) for the IdleJoules column; with --simulate the offline cluster's nodes, rates and power (default: the reference cluster's, built in)."
    )
    var knowledgeBase: String?

    @Flag(
        name: .long,
        help:
            "Run on an offline cluster in this process: simulated plugs for the knowledge base's nodes, the monitor, a Kubernetes API stand-in, the extender. Rows are marked Simulated."
    )
    var simulate = false

    @Option(name: .long, help: "With --simulate: a real second stands for this many simulated ones (1...3600).")
    var timeScale: Double = 1

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --simulate: a node's watts at rest instead of the knowledge base's idle (repeatable).",
            valueName: "node=watts"))
    var restingWatts: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --simulate: a node's allocatable CPU and memory (repeatable; default 4,8Gi).",
            valueName: "node=cpu,memory"))
    var capacity: [String] = []

    @Option(name: .long, help: "With --simulate: seed of the schedulers' tie-breaks.")
    var seed: UInt64 = 1

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --simulate: a background pod loading a node's CPU with this many cores, so that phases share the node; turns on per-pod energy (repeatable).",
            valueName: "node=cores"))
    var background: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --simulate and --background: the simulated nodes' static power is the knowledge base's idle power times this (default 1.2).",
            valueName: "factor"))
    var staticFactor: Double = 1.2

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --simulate and --background: metrics-server's windows (default 15s).", valueName: "duration"))
    var metricsInterval: String = "15s"

    @Option(
        name: .long,
        help: "Longest time a phase may take from Job creation to completion, e.g. 30m (default: the file's, else 1h).")
    var phaseTimeout: String?

    @Option(name: .long, help: "Wait this long after a phase ends before asking for its energy (default 3s).")
    var settle: String = "3s"

    @OptionGroup var kubernetes: KubernetesOptions

    func validate() throws {
        if simulate {
            if monitor != nil {
                throw ValidationError("--monitor does not go with --simulate (the offline cluster has its own)")
            }
            if interval != nil { throw ValidationError("--interval does not go with --simulate") }
            try Self.checkTimeScale(timeScale)
            _ = try Self.restingWatts(restingWatts)
            _ = try Self.capacities(capacity)
            _ = try sharedNodes()
        } else {
            if !background.isEmpty { throw ValidationError("--background goes with --simulate") }
            guard (monitor == nil) != (database == nil) else {
                throw ValidationError("give either --monitor URL or --database FILE (or --simulate)")
            }
            if timeScale != 1 || !restingWatts.isEmpty || !capacity.isEmpty {
                throw ValidationError("--time-scale, --resting-watts and --capacity go with --simulate")
            }
        }
        if interval != nil, database == nil { throw ValidationError("--interval goes with --database") }
        if let phaseTimeout { _ = try Self.duration(phaseTimeout, option: "--phase-timeout", minimum: 1000) }
        _ = try Self.duration(settle, option: "--settle", minimum: 0)
        if let namespace, !Self.isDNSLabel(namespace) {
            throw ValidationError("--namespace: \"\(namespace)\" is not a namespace name")
        }
    }

    static func duration(_ text: String, option: String, minimum: Int64) throws -> Int64 {
        let value: Int64
        do { value = try DurationParsing.milliseconds(text) } catch { throw ValidationError("\(option): \(error)") }
        guard value >= minimum, value <= 7 * 86_400_000 else {
            throw ValidationError("\(option): \(text) is outside \(minimum / 1000)s...7d")
        }
        return value
    }

    /// `--time-scale`: a real second stands for 1 to 3,600 simulated ones.
    static func checkTimeScale(_ value: Double) throws {
        guard value.isFinite, (1...3600).contains(value) else {
            throw ValidationError("--time-scale: \(value) is outside 1...3600")
        }
    }

    /// `node=watts` pairs.
    static func restingWatts(_ pairs: [String]) throws -> [String: Double] {
        var result: [String: Double] = [:]
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty,
                parts[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let watts = Double(parts[1]),
                watts.isFinite, (0...100_000).contains(watts)
            else {
                throw ValidationError("--resting-watts: \"\(pair)\" is not node=watts with watts in 0...100000")
            }
            result[parts[0]] = watts
        }
        return result
    }

    /// The shared nodes `--background` asks for; nil without it.
    func sharedNodes() throws -> SharedNodes? {
        guard !background.isEmpty else { return nil }
        var pods: [(node: String, cores: Double)] = []
        for pair in background {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty,
                parts[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let cores = Double(parts[1]),
                cores.isFinite, cores > 0, cores <= 1024
            else {
                throw ValidationError("--background: \"\(pair)\" is not node=cores with cores above 0 and at most 1024")
            }
            pods.append((parts[0], cores))
        }
        guard staticFactor.isFinite, (0.1...10).contains(staticFactor) else {
            throw ValidationError("--static-factor: \(staticFactor) is outside 0.1...10")
        }
        let resolution = try Self.duration(metricsInterval, option: "--metrics-interval", minimum: 1000)
        guard resolution <= 600_000 else { throw ValidationError("--metrics-interval: at most 10m") }
        return SharedNodes(
            staticFactor: staticFactor, background: pods, metricsResolutionMilliseconds: resolution)
    }

    /// `node=cpu,memory` pairs (`rpi=4,1Gi`).
    static func capacities(_ pairs: [String]) throws -> [String: (cpuMillicores: Int64, memoryBytes: Int64)] {
        var result: [String: (cpuMillicores: Int64, memoryBytes: Int64)] = [:]
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let values = parts.count == 2 ? parts[1].split(separator: ",").map(String.init) : []
            guard parts.count == 2, !parts[0].isEmpty, values.count == 2,
                let cpu = ResourceQuantity.millicores(values[0]), let memory = ResourceQuantity.bytes(values[1]),
                (1...1_000_000_000).contains(cpu), (1...(1 << 50)).contains(memory)
            else {
                throw ValidationError("--capacity: \"\(pair)\" is not node=cpu,memory (e.g. rpi=4,1Gi)")
            }
            result[parts[0]] = (cpu, memory)
        }
        return result
    }

    static func isDNSLabel(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63 && name.first != "-" && name.last != "-"
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    /// Everything a run needs, checked before the first Job: the workflow, the output file,
    /// the knowledge base, the energy source (a wrong monitor URL fails now), the cluster.
    func makeSession() async throws -> WorkflowSession {
        var footprint = FootprintSettings()
        if let config {
            do throws(ConfigurationError) {
                footprint = try MonitorConfiguration.loadFootprint(path: config).settings
            } catch {
                throw CommandFailure("--config: \(error)")
            }
        }
        let definition: WorkflowDefinition
        do { definition = try WorkflowDefinition(contentsOfFile: workflow) } catch { throw CommandFailure("\(error)") }
        do { try ResultFile.checkAppendable(output) } catch { throw CommandFailure("--output: \(error)") }
        let knowledge: KnowledgeBase?
        do { knowledge = try knowledgeBase.map { try KnowledgeBase(contentsOfFile: $0) } } catch {
            throw CommandFailure("--knowledge-base: \(error)")
        }
        if simulate { return try await makeSimulatedSession(definition: definition, footprint: footprint) }
        let http = CurlMultiClient()
        let energy: any EnergySource
        if let monitor {
            let source: MonitorEnergySource
            do { source = try MonitorEnergySource(baseURL: monitor, http: http, rates: footprint.rates()) } catch {
                throw CommandFailure("\(error)")
            }
            do { try await source.check() } catch { throw CommandFailure("\(error)") }
            energy = source
        } else {
            let override = try interval.map { try Self.duration($0, option: "--interval", minimum: 1) }
            do {
                energy = try await StoreEnergySource(path: database ?? "", intervalMilliseconds: override).with(
                    footprint)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        let connection: KubernetesConnection
        do {
            connection = try KubernetesConnection.resolve(
                kubeconfig: kubernetes.kubeconfig, context: kubernetes.context, logger: CommandSupport.logger)
        } catch {
            throw CommandFailure("\(error)")
        }
        let client = KubernetesClient(
            connection: connection, http: http, logger: CommandSupport.logger,
            timeoutMilliseconds: CommandSupport.requestTimeoutMilliseconds)
        let cluster = KubernetesWorkflowCluster(client: client, onRetry: { Self.say("retrying: \($0)") })
        let configuration = WorkflowRunner.Configuration(
            workflow: definition, namespace: namespace,
            phaseTimeoutMilliseconds: try phaseTimeout.map {
                try Self.duration($0, option: "--phase-timeout", minimum: 1000)
            },
            settleMilliseconds: try Self.duration(settle, option: "--settle", minimum: 0), knowledgeBase: knowledge)
        let runner = WorkflowRunner(configuration: configuration, cluster: cluster, energy: energy) {
            Self.say($0.description)
        }
        return WorkflowSession(runner: runner, output: output, http: http, offline: nil)
    }

    /// The offline cluster, started, and a runner on it.
    func makeSimulatedSession(definition: WorkflowDefinition, footprint: FootprintSettings) async throws
        -> WorkflowSession
    {
        let knowledge: KnowledgeBase
        do {
            knowledge =
                try knowledgeBase.map { try KnowledgeBase(contentsOfFile: $0) } ?? BuiltInDefaults.knowledgeBase()
        } catch {
            throw CommandFailure("--knowledge-base: \(error)")
        }
        var databasePath = database
        if databasePath == nil {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "energy-monitor-simulate-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            databasePath = folder.appendingPathComponent("energy.db").path
        }
        let offline: OfflineCluster
        do {
            offline = try await OfflineCluster.start(
                OfflineCluster.Configuration(
                    knowledgeBasePath: knowledgeBase, workflow: definition, timeScale: timeScale,
                    restingWatts: try Self.restingWatts(restingWatts), capacities: try Self.capacities(capacity),
                    seed: seed, databasePath: databasePath ?? "energy.db", shared: try sharedNodes()),
                logger: CommandSupport.logger)
        } catch {
            throw CommandFailure("\(error)")
        }
        var energy: any EnergySource
        do {
            energy = try await offline.energy()
            if !footprint.isEmpty, let store = energy as? StoreEnergySource { energy = try await store.with(footprint) }
        } catch {
            await offline.stop()
            throw CommandFailure("\(error)")
        }
        Self.say(
            "offline cluster: nodes \(offline.nodes.map { "\($0.name) (\(String(format: "%.2f", $0.restingWatts)) W at rest)" }.joined(separator: ", ")), "
                + "time scale \(WorkflowRun.weightText(timeScale)), monitor database \(databasePath ?? "")")
        let configuration = WorkflowRunner.Configuration(
            workflow: definition, namespace: namespace,
            phaseTimeoutMilliseconds: try phaseTimeout.map {
                try Self.duration($0, option: "--phase-timeout", minimum: 1000)
            },
            settleMilliseconds: try Self.duration(settle, option: "--settle", minimum: 0), knowledgeBase: knowledge,
            timeScale: timeScale, simulated: true)
        let runner = WorkflowRunner(configuration: configuration, cluster: offline.cluster, energy: energy) {
            Self.say($0.description)
        }
        return WorkflowSession(runner: runner, output: output, http: CurlMultiClient(), offline: offline)
    }

    /// A progress line with the time of day (UTC), on standard output.
    static func say(_ line: String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "HH:mm:ss"
        Console.write("\(formatter.string(from: Date())) \(line)")
    }
}

/// A runner ready to go, with the file its rows go to.
struct WorkflowSession {
    let runner: WorkflowRunner
    let output: String
    let http: CurlMultiClient
    /// The offline cluster of `--simulate`, stopped when the session ends.
    let offline: OfflineCluster?

    /// Runs `body` until it ends or SIGINT/SIGTERM arrives; a signal cancels it, which
    /// deletes the current run's Jobs, and the command exits 130. A second signal exits at once.
    func runInterruptible(_ body: @escaping @Sendable (WorkflowRunner, String) async throws -> Void) async throws {
        let runner = self.runner
        let output = self.output
        let task = Task { try await body(runner, output) }
        let signals = SignalCancellation(task: task)
        defer {
            signals.cancel()
            http.shutdown()
        }
        do {
            try await task.value
            await offline?.stop()
        } catch  where error is CancellationError || task.isCancelled {
            await offline?.stop()
            FileHandle.standardError.write(
                Data(
                    "energy-monitor: error: interrupted; the run's Jobs are deleted, rows of finished phases are in \(output)\n"
                        .utf8))
            throw ExitCode(130)
        } catch {
            await offline?.stop()
            throw error
        }
    }
}

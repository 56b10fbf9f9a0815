import ArgumentParser
import CurlClient
import EnergyModel
import Foundation
import Kubernetes
import Logging
import Scoring
import Workflow

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

    @Option(name: .long, help: "The monitor's SQLite database instead of --monitor (on the monitor's node).")
    var database: String?

    @Option(name: .long, help: "Poll interval for --database (default: as recorded by the service).")
    var interval: String?

    @Option(name: .long, help: "Knowledge base (ConfigMap manifest or profiles.yaml) for the IdleJoules column.")
    var knowledgeBase: String?

    @Option(
        name: .long,
        help: "Longest time a phase may take from Job creation to completion, e.g. 30m (default: the file's, else 1h).")
    var phaseTimeout: String?

    @Option(name: .long, help: "Wait this long after a phase ends before asking for its energy (default 3s).")
    var settle: String = "3s"

    @OptionGroup var kubernetes: KubernetesOptions

    func validate() throws {
        guard (monitor == nil) != (database == nil) else {
            throw ValidationError("give either --monitor URL or --database FILE")
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

    static func isDNSLabel(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63 && name.first != "-" && name.last != "-"
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    /// Everything a run needs, checked before the first Job: the workflow, the output file,
    /// the knowledge base, the energy source (a wrong monitor URL fails now), the cluster.
    func makeSession() async throws -> WorkflowSession {
        let definition: WorkflowDefinition
        do { definition = try WorkflowDefinition(contentsOfFile: workflow) } catch { throw CommandFailure("\(error)") }
        do { try ResultFile.checkAppendable(output) } catch { throw CommandFailure("--output: \(error)") }
        let knowledge: KnowledgeBase?
        do { knowledge = try knowledgeBase.map { try KnowledgeBase(contentsOfFile: $0) } } catch {
            throw CommandFailure("--knowledge-base: \(error)")
        }
        let http = CurlMultiClient()
        let energy: any EnergySource
        if let monitor {
            let source: MonitorEnergySource
            do { source = try MonitorEnergySource(baseURL: monitor, http: http) } catch {
                throw CommandFailure("\(error)")
            }
            do { try await source.check() } catch { throw CommandFailure("\(error)") }
            energy = source
        } else {
            let override = try interval.map { try Self.duration($0, option: "--interval", minimum: 1) }
            do { energy = try await StoreEnergySource(path: database ?? "", intervalMilliseconds: override) } catch {
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
            connection: connection, http: http, logger: CommandSupport.logger, timeoutMilliseconds: 15_000)
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
        return WorkflowSession(runner: runner, output: output, http: http)
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
        } catch  where error is CancellationError || task.isCancelled {
            FileHandle.standardError.write(
                Data(
                    "energy-monitor: error: interrupted; the run's Jobs are deleted, rows of finished phases are in \(output)\n"
                        .utf8))
            throw ExitCode(130)
        }
    }
}

import ArgumentParser
import ClusterCheck
import CurlClient
import Foundation
import JSON
import Kubernetes
import Scoring
import UserInput

/// `energy-monitor check`: the installation against the cluster, one line per check.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the installation against the cluster: one ok/warn/fail line per check with the fix.",
        discussion: """
            Checks the API server and its version; the monitor's and the extender's permissions \
            (SelfSubjectAccessReview as their service accounts, which needs impersonation: run it as \
            a cluster admin); the node guard policy; that every plug's node exists and every node \
            has a plug or is listed in kubernetes.unmetered; fresh power annotations on every plug \
            node; the knowledge base against the nodes; the second scheduler running, its version \
            within skew, its configuration naming the extender; the monitor's /metrics. The \
            monitor's configuration and the knowledge base are read from their ConfigMaps unless \
            given. Exits 1 when any check fails.
            """
    )

    @OptionGroup var kubernetes: KubernetesOptions

    @Option(name: .long, help: "text (one line per check) or json.")
    var output: String = "text"

    @Option(name: .long, help: "The monitor's configuration file (default: ConfigMap energy-monitor-config).")
    var config: String?

    @Option(
        name: .long,
        help: "The knowledge base (default: ConfigMap scheduler-knowledge-base in the scheduler's namespace).")
    var knowledgeBase: String?

    @Option(name: .long, help: "The monitor's base URL for /metrics (default: its Service through the API server).")
    var monitorURL: String?

    @Option(name: .long, help: "The monitor's namespace.")
    var namespace: String = "energy-monitor"

    @Option(name: .long, help: "The second scheduler's namespace.")
    var schedulerNamespace: String = "kube-system"

    func validate() throws {
        guard output == "text" || output == "json" else { throw ValidationError("--output must be text or json") }
        if let monitorURL, !(monitorURL.hasPrefix("http://") || monitorURL.hasPrefix("https://")) {
            throw ValidationError("--monitor-url must be an http:// or https:// URL")
        }
    }

    func run() async throws {
        var settings = ClusterCheck.Configuration()
        settings.monitorNamespace = namespace
        settings.schedulerNamespace = schedulerNamespace
        if let config {
            do {
                settings.monitorConfiguration = (try UserFile(path: config).text(), config)
            } catch {
                throw CommandFailure("--config: \(error)")
            }
        }
        if let knowledgeBase {
            do {
                settings.knowledgeBase = try KnowledgeBase(contentsOfFile: knowledgeBase)
            } catch {
                throw CommandFailure("--knowledge-base: \(error)")
            }
        }
        let http = CurlMultiClient()
        defer { http.shutdown() }
        if let monitorURL {
            let url = (monitorURL.hasSuffix("/") ? String(monitorURL.dropLast()) : monitorURL) + "/metrics"
            settings.fetchMetrics = {
                let response = try await http.perform(HTTPRequest(url: url, maxResponseBytes: 64 << 20))
                guard (200..<300).contains(response.status) else {
                    throw CommandFailure("HTTP \(response.status) from \(url)")
                }
                return String(decoding: response.body, as: UTF8.self)
            }
        }
        let report: CheckReport
        do {
            let connection = try KubernetesConnection.resolve(
                kubeconfig: kubernetes.kubeconfig, context: kubernetes.context, logger: CommandSupport.logger)
            let client = KubernetesClient(
                connection: connection, http: http, logger: CommandSupport.logger,
                timeoutMilliseconds: CommandSupport.requestTimeoutMilliseconds)
            report = await ClusterCheck(client: client, configuration: settings).run()
        } catch {
            report = CheckReport(results: [
                CheckResult(
                    "api-server", .fail, "\(error)", fix: "give a usable --kubeconfig/--context, or set KUBECONFIG")
            ])
        }
        if output == "json" {
            Console.write(String(decoding: report.json.serialized, as: UTF8.self))
        } else {
            Console.write(report.text)
        }
        if report.failed { throw ExitCode(1) }
    }
}

import ArgumentParser
import CurlClient
import Foundation
import Hummingbird
import Kubernetes
import Logging
import SchedulerExtender
import Scoring
import UserInput

/// `energy-monitor extender --knowledge-base FILE --listen ADDR`: the scheduler-extender server.
struct ExtenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extender",
        abstract: "Serve kube-scheduler's extender calls: POST /scheduler/prioritize and /scheduler/filter.",
        discussion: """
            Also GET /healthz and GET /metrics. The knowledge base is re-read when its file changes \
            (a ConfigMap volume update included); an edit that does not load is logged and the last \
            good version stays in use. With --watch-nodes the extender keeps its own view of the nodes' \
            power annotations (a watch on the Kubernetes API: in-cluster, --kubeconfig or $KUBECONFIG), \
            so that the scheduler may send node names only (nodeCacheCapable: true). With \
            --metrics-listen a second listener answers GET /metrics and GET /healthz only, for \
            Prometheus on the pod's address while the scheduler's calls stay on loopback.
            """
    )

    @Option(name: .long, help: "The knowledge base: profiles.yaml or the ConfigMap manifest holding it.")
    var knowledgeBase: String

    @Option(name: .long, help: "Address to listen on: HOST:PORT, [IPv6]:PORT or :PORT (port 0: any free port).")
    var listen: String = "127.0.0.1:8888"

    @Option(
        name: .long,
        help: """
            A second address that answers GET /metrics and GET /healthz only (e.g. 0.0.0.0:8889 for \
            Prometheus on the pod's address), HOST:PORT, [IPv6]:PORT or :PORT; default: none.
            """)
    var metricsListen: String?

    @Option(name: .long, help: "How often to look for a changed knowledge base, in seconds.")
    var reloadInterval: Double = 1

    @Option(
        name: .long,
        help: """
            Largest accepted request body, in bytes (default 2 MiB). At most 4 such bodies are held \
            at once and scoring one takes about 12 times its size: raise the memory limit with it.
            """)
    var maxBodyBytes: Int = ExtenderServer.Configuration.defaultMaxBodyBytes

    @Option(name: .long, help: "Prefix of the node power annotations.")
    var annotationPrefix: String = PowerAnnotations.defaultPrefix

    @Option(
        name: .long,
        help:
            "Seconds a connection may send nothing before it is closed; keep it above the 90 s kube-scheduler's client keeps idle connections."
    )
    var idleTimeout: Double = 120

    @Flag(
        name: .long,
        help: "Watch the nodes' power annotations, for nodeCacheCapable: true (needs nodes get, list, watch).")
    var watchNodes = false

    @OptionGroup var kubernetes: KubernetesOptions

    // The benchmark's and the tests' API stand-in speaks plain HTTP on loopback, which no
    // kubeconfig may name: this reaches it, and nothing else.
    @Option(name: .long, help: .hidden)
    var loopbackAPIServer: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        _ = try CommandSupport.seconds(reloadInterval, option: "--reload-interval", range: 0.05...3600)
        _ = try CommandSupport.seconds(idleTimeout, option: "--idle-timeout", range: 1...3600)
        guard maxBodyBytes >= 1024, maxBodyBytes <= 1 << 30 else {
            throw ValidationError("--max-body-bytes must be between 1024 and 1073741824 (1 GiB)")
        }
        guard !annotationPrefix.isEmpty, !annotationPrefix.contains("/") else {
            throw ValidationError("--annotation-prefix must be a non-empty DNS prefix without \"/\"")
        }
        if let loopbackAPIServer {
            guard loopbackAPIServer.hasPrefix("http://127.0.0.1:") || loopbackAPIServer.hasPrefix("http://[::1]:")
            else {
                throw ValidationError("--loopback-api-server must be http://127.0.0.1:PORT")
            }
        }
    }

    /// The node view's watcher with its own HTTP client, when --watch-nodes is given.
    func makeNodeView(metrics: ExtenderMetrics, logger: Logger) throws -> NodeViewWatcher? {
        guard watchNodes else { return nil }
        let connection: KubernetesConnection
        if let loopbackAPIServer {
            connection = KubernetesConnection(server: loopbackAPIServer, origin: "loopback API server")
        } else {
            do {
                connection = try KubernetesConnection.resolve(
                    kubeconfig: kubernetes.kubeconfig, context: kubernetes.context, logger: logger)
            } catch {
                throw CommandFailure("--watch-nodes: \(error)")
            }
        }
        logger.info(
            "watching nodes for the node view",
            metadata: ["server": "\(connection.server)", "from": "\(connection.origin)"])
        let client = KubernetesClient(
            connection: connection, http: CurlMultiClient(), logger: logger, timeoutMilliseconds: 30_000)
        return NodeViewWatcher(client: client, annotationPrefix: annotationPrefix, metrics: metrics, logger: logger)
    }

    func run() async throws {
        let address: ListenAddress
        do {
            // Port 0 is allowed: the bound port is printed for scripts and tests.
            address = try ListenAddress(listen, allowingPortZero: true)
        } catch {
            throw CommandFailure("--listen: \(error.description)")
        }
        var metricsAddress: ListenAddress?
        if let metricsListen {
            do {
                metricsAddress = try ListenAddress(metricsListen, allowingPortZero: true)
            } catch {
                throw CommandFailure("--metrics-listen: \(error.description)")
            }
        }
        if let metricsAddress, metricsAddress.port != 0, metricsAddress.port == address.port {
            throw CommandFailure(
                "--metrics-listen: port \(metricsAddress.port) is --listen's; give the metrics listener its own port")
        }
        let metricsHost = metricsAddress?.urlHost ?? address.urlHost
        let configuration = ExtenderServer.Configuration(
            listen: address, maxBodyBytes: maxBodyBytes,
            idleTimeout: try CommandSupport.seconds(idleTimeout, option: "--idle-timeout", range: 1...3600),
            powerAnnotations: PowerAnnotations(prefix: annotationPrefix), metricsListen: metricsAddress)
        let logger = logging.bootstrap(label: "energy-monitor.extender")
        let pollInterval = try CommandSupport.seconds(reloadInterval, option: "--reload-interval", range: 0.05...3600)
        let watcher: KnowledgeBaseWatcher
        do {
            watcher = try KnowledgeBaseWatcher(
                path: knowledgeBase,
                pollInterval: pollInterval,
                logger: logger
            )
        } catch {
            throw CommandFailure("--knowledge-base: \(error.description)")
        }
        let metrics = ExtenderMetrics()
        let nodeView = try makeNodeView(metrics: metrics, logger: logger)
        let application = ExtenderServer.makeApplication(
            configuration: configuration,
            watcher: watcher,
            nodeView: nodeView,
            metrics: metrics,
            logger: logger,
            onServerRunning: { port in
                // One line on stdout for scripts and tests that pass port 0, written unbuffered
                // so a reader sees it at once even when stdout is a file or a pipe.
                FileHandle.standardOutput.write(Data("extender listening on http://\(address.urlHost):\(port)\n".utf8))
            },
            onMetricsServerRunning: { port in
                FileHandle.standardOutput.write(
                    Data("extender metrics listening on http://\(metricsHost):\(port)\n".utf8))
            }
        )
        try await application.runService()
    }
}

import ArgumentParser
import Foundation
import Hummingbird
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
            good version stays in use.
            """
    )

    @Option(name: .long, help: "The knowledge base: profiles.yaml or the ConfigMap manifest holding it.")
    var knowledgeBase: String

    @Option(name: .long, help: "Address to listen on: HOST:PORT, [IPv6]:PORT or :PORT (port 0: any free port).")
    var listen: String = "127.0.0.1:8888"

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

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        _ = try CommandSupport.seconds(reloadInterval, option: "--reload-interval", range: 0.05...3600)
        guard maxBodyBytes >= 1024, maxBodyBytes <= 1 << 30 else {
            throw ValidationError("--max-body-bytes must be between 1024 and 1073741824 (1 GiB)")
        }
        guard !annotationPrefix.isEmpty, !annotationPrefix.contains("/") else {
            throw ValidationError("--annotation-prefix must be a non-empty DNS prefix without \"/\"")
        }
    }

    func run() async throws {
        let address: ListenAddress
        do {
            // Port 0 is allowed: the bound port is printed for scripts and tests.
            address = try ListenAddress(listen, allowingPortZero: true)
        } catch {
            throw CommandFailure("--listen: \(error.description)")
        }
        let configuration = ExtenderServer.Configuration(
            listen: address, maxBodyBytes: maxBodyBytes, powerAnnotations: PowerAnnotations(prefix: annotationPrefix))
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
        let application = ExtenderServer.makeApplication(
            configuration: configuration,
            watcher: watcher,
            metrics: ExtenderMetrics(),
            logger: logger,
            onServerRunning: { port in
                // One line on stdout for scripts and tests that pass port 0, written unbuffered
                // so a reader sees it at once even when stdout is a file or a pipe.
                FileHandle.standardOutput.write(Data("extender listening on http://\(address.urlHost):\(port)\n".utf8))
            }
        )
        try await application.runService()
    }
}

import ArgumentParser
import EnergyModel
import Foundation
import MonitorService
import ShellyPoller
import ShellySimulator
import UserInput

/// `energy-monitor demo`: the reference cluster's three nodes on simulated plugs, and the
/// service watching them. No cluster, no hardware.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulate plugs for tvpc, wyse and rpi on loopback and run the service against them."
    )

    @Option(name: .long, help: "Address of the service's HTTP server.")
    var listen: String = "127.0.0.1:9840"

    @Option(name: .long, help: "SQLite database (default: a new file in a temporary folder).")
    var database: String?

    @Option(name: .long, help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Flag(
        name: .long,
        help:
            "Run the thesis workflow in a loop on an offline cluster (monitor, annotations, API stand-in, extender) and show each phase's placement and joules on the dashboard."
    )
    var cluster = false

    @Option(name: .long, help: "With --cluster: a real second stands for this many simulated ones (1...3600).")
    var timeScale: Double = 20

    @Option(name: .long, help: "With --cluster: the energy scheduler's weights, in turn (comma-separated).")
    var weights: String = "0,0.5,1"

    @Option(name: .long, help: "With --cluster: the workflow file (default: the thesis's, built in).")
    var workflow: String?

    @Option(
        name: .long,
        help: "With --cluster: the knowledge base: nodes, rates, power (default: the reference cluster's, built in).")
    var knowledgeBase: String?

    @Option(name: .long, help: "A configuration file whose carbon: and price: the demo's service uses.")
    var config: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let duration {
            _ = try CommandSupport.seconds(
                duration, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
        }
        try WorkflowOptions.checkTimeScale(timeScale)
        _ = try WorkflowSweepCommand.weights(weights)
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "energy-monitor")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("energy-monitor-demo-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The listen address by the service's rule (no port 0: the demo prints its URLs).
        let address: ListenAddress
        do {
            address = try ListenAddress(listen)
        } catch {
            throw CommandFailure("--listen: \(error.description)")
        }
        if cluster {
            try await DemoClusterMode(
                listen: address,
                databasePath: database ?? folder.appendingPathComponent("energy.db").path, folder: folder,
                knowledgeBase: knowledgeBase, workflow: workflow, timeScale: timeScale,
                weights: try WorkflowSweepCommand.weights(weights),
                duration: try duration.map {
                    try CommandSupport.seconds(
                        $0, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
                }
            ).run()
            return
        }
        let password = UUID().uuidString
        let databasePath = database ?? folder.appendingPathComponent("energy.db").path

        // tvpc on a Plus Plug S (Gen2, Digest auth), wyse on a Plug S Gen3, rpi on a Gen1 Plug S.
        let simulator = try await ShellySimulator.start(
            plugs: [
                .init(node: "tvpc", port: 0, generation: 2, profile: .tvpc, password: password),
                .init(node: "wyse", port: 0, generation: 3, profile: .wyse),
                .init(node: "rpi", port: 0, generation: 1, profile: .rpi),
            ]
        )
        // The configuration built as a value: nothing typed on the command line is ever read
        // back as YAML.
        var configuration = MonitorConfiguration()
        if let config {
            do throws(ConfigurationError) {
                configuration.footprint = try MonitorConfiguration.loadFootprint(path: config).settings
            } catch {
                await simulator.shutdown()
                throw CommandFailure("--config: \(error)")
            }
        }
        configuration.database = databasePath
        configuration.listen = address
        configuration.plugs = ["tvpc", "wyse", "rpi"].map { node in
            PlugConfiguration(
                node: node, baseURL: "http://127.0.0.1:\(simulator.port(of: node) ?? 0)",
                password: node == "tvpc" ? password : nil)
        }
        do {
            try configuration.validate()
        } catch {
            await simulator.shutdown()
            throw CommandFailure("\(error.description)")
        }
        let nodes = configuration.nodes
        let base = "http://\(address.reachableHost):\(address.port)"
        Console.write(
            """
            energy-monitor demo: 3 simulated plugs (tvpc Gen2 with Digest auth, wyse Gen3, rpi Gen1)
              dashboard \(base)/
              metrics   \(base)/metrics
              health    \(base)/healthz  \(base)/readyz
              database  sqlite3 \(databasePath) "SELECT node, count(*), avg(watts) FROM power GROUP BY node"
            Ctrl-C to stop.
            """
        )
        do {
            try await ServiceRunner.run(
                [Monitor(configuration: configuration, logger: logger, consumers: [ConsoleLine(nodes: nodes)])],
                for: try duration.map {
                    try CommandSupport.seconds(
                        $0, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
                },
                logger: logger
            )
        } catch {
            await simulator.shutdown()
            throw error
        }
        await simulator.shutdown()
    }

}

/// The demo's line per tick on standard output.
struct ConsoleLine: TickConsumer {
    let nodes: [String]

    func consume(_ tick: Tick) async {
        Console.write(Self.line(tick, nodes: nodes))
    }

    /// `14:02:07  tvpc   52.3 W  wyse   12.1 W  rpi    2.4 W`
    static func line(_ summary: Tick, nodes: [String]) -> String {
        let seconds = summary.tickMilliseconds / 1000
        let clock = String(format: "%02lld:%02lld:%02lld", (seconds / 3600) % 24, (seconds / 60) % 60, seconds % 60)
        var parts = [clock]
        for node in nodes {
            let name = node.padding(toLength: 5, withPad: " ", startingAt: 0)
            if let sample = summary.samples.first(where: { $0.node == node }) {
                parts.append("\(name)\(String(format: "%7.1f W", sample.reading.watts))")
            } else {
                parts.append("\(name)   down (\(summary.failures[node]?.reason.rawValue ?? "?"))")
            }
        }
        return parts.joined(separator: "  ")
    }
}

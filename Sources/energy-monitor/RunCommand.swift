import ArgumentParser
import MonitorService

/// `energy-monitor run --config FILE`: the service.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the service: poll every plug, store to SQLite, serve /metrics."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Stop cleanly after this many seconds (default: run until SIGTERM or Ctrl-C).")
    var duration: Double?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let duration { _ = try CommandSupport.seconds(duration, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds) }
    }

    func run() async throws {
        let configuration = try loadConfiguration(config)
        let logger = logging.bootstrap(label: "energy-monitor")
        ResourceLimits.raiseOpenFileLimit()
        try await ServiceRunner.run(
            [Monitor(configuration: configuration, logger: logger)],
            for: try duration.map { try CommandSupport.seconds($0, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds) },
            logger: logger
        )
    }
}

/// Loads a configuration; errors name the file (`config.yaml: plugs[0].address: missing`).
func loadConfiguration(_ path: String) throws -> MonitorConfiguration {
    do {
        return try MonitorConfiguration.load(path: path)
    } catch {
        throw CommandFailure(error.description)
    }
}

/// A failure reported as one line.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

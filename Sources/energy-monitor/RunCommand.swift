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

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let configuration = try loadConfiguration(config)
        let logger = logging.bootstrap(label: "energy-monitor")
        ResourceLimits.raiseOpenFileLimit()
        let monitor = try await Monitor(configuration: configuration, logger: logger)
        try await monitor.run()
    }
}

/// Loads a configuration, prefixing errors with the file name.
func loadConfiguration(_ path: String) throws -> MonitorConfiguration {
    do {
        return try MonitorConfiguration.load(path: path)
    } catch {
        throw CommandFailure("\(path): \(error.description)")
    }
}

/// A failure reported as one line.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

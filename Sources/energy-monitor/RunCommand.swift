import ArgumentParser
import EnergyModel
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

    @Option(
        name: .long,
        help:
            "Run as shard I of N (I counted from 0, e.g. 2/3): poll, store and annotate only the nodes that hash to it."
    )
    var shard: String?

    @Option(
        name: .customLong("shard-from-hostname"),
        help: ArgumentHelp(
            "Run as one of N shards, the index being the ordinal that ends the host name ($HOSTNAME), as a StatefulSet's pods are named (energy-monitor-2 is 2).",
            valueName: "N"))
    var shardFromHostname: String?

    @Option(
        name: .long,
        help:
            "The shards' base URLs, for queries of other shards' nodes: a pattern with {i} for the index (http://energy-monitor-{i}.energy-monitor-shards:9840) or URL0,URL1,..."
    )
    var peers: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let duration {
            _ = try CommandSupport.seconds(
                duration, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
        }
        _ = try shardSettings(configured: nil, hostname: "")
    }

    /// The shard settings: the options over the configuration's `shards:`. With `hostname`
    /// empty only the options' syntax is checked (before the configuration is read).
    func shardSettings(configured: ShardSettings?, hostname: String) throws -> ShardSettings? {
        do throws(ShardError) {
            var settings = configured
            if shard != nil, shardFromHostname != nil {
                throw ShardError("give --shard or --shard-from-hostname, not both")
            }
            if let shard {
                let assignment = try ShardAssignment(parsing: shard)
                settings = ShardSettings(count: assignment.count, index: .fixed(assignment.index))
            } else if let text = shardFromHostname {
                guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(text.prefix(7)) else {
                    throw ShardError(
                        "--shard-from-hostname: expected the number of shards, not \"\(text.foldedToOneLine(limit: 64))\""
                    )
                }
                _ = try ShardAssignment(index: 0, count: count)
                settings = ShardSettings(count: count, index: .hostname)
            }
            if settings?.count != configured?.count {
                // The configured peers are for another number of shards.
                settings?.peers = []
            } else if let configured {
                settings?.peers = configured.peers
            }
            if let peers {
                guard var chosen = settings else { throw ShardError("--peers needs --shard or --shard-from-hostname") }
                chosen.peers = try ShardPeers.expand(peers, count: chosen.count)
                settings = chosen
            }
            if let settings, !hostname.isEmpty {
                _ = try settings.assignment(hostname: hostname)
            }
            return settings
        } catch {
            let option = shard != nil ? "--shard" : shardFromHostname != nil ? "--shard-from-hostname" : "shards"
            let text = error.description
            throw ValidationError(text.hasPrefix("--") ? text : "\(option): \(text)")
        }
    }

    func run() async throws {
        var configuration = try loadConfiguration(config)
        let hostname = ShardSettings.hostname()
        configuration.shards = try shardSettings(configured: configuration.shards, hostname: hostname)
        if let settings = configuration.shards, case .hostname = settings.index {
            // Resolved once: the index cannot change while the process runs.
            configuration.shards?.index = .fixed(try settings.assignment(hostname: hostname).index)
        }
        let logger = logging.bootstrap(label: "energy-monitor")
        ResourceLimits.raiseOpenFileLimit()
        try await ServiceRunner.run(
            [Monitor(configuration: configuration, logger: logger)],
            for: try duration.map {
                try CommandSupport.seconds($0, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
            },
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

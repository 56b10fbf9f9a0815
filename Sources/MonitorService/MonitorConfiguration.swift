import AnnotationContract
import EnergyModel
import Foundation
import PodEnergy
import ShellyPoller
import UserInput

/// The service's configuration, read from YAML (see the configuration reference in
/// README.md). Everything is validated at load time; secrets are read from files or the
/// environment here and nowhere else.
public struct MonitorConfiguration: Sendable, Equatable {
    /// Settings of the node annotation publisher.
    public struct Kubernetes: Sendable, Equatable {
        /// Whether to publish node annotations.
        public var annotate: Bool
        /// Annotation key prefix.
        public var prefix: String
        /// Re-publish an unchanged value at least this often (milliseconds).
        public var heartbeatMilliseconds: Int64
        /// A change larger than this (or 5 %) is published at once (watts).
        public var deadbandWatts: Double
        /// Kubeconfig file to use instead of the automatic choice (in-cluster, `$KUBECONFIG`,
        /// `~/.kube/config`).
        public var kubeconfig: String?
        /// Kubeconfig context to use instead of its `current-context`.
        public var context: String?
        /// Nodes of the cluster without a plug, on purpose (`unmetered:`): `energy-monitor
        /// check` expects every other node to have one.
        public var unmetered: [String]
        /// Per-pod energy on shared nodes (`podEnergy:`): CPU usage from `metrics.k8s.io`, the
        /// pods from a watch, each node's measured energy split among them. Off by default.
        public var podEnergy = PodEnergySettings()

        /// Defaults: off, the contract's default prefix (`energy.thesis.io`), 15 s, 1 W, automatic connection.
        public init(
            annotate: Bool = false, prefix: String = PowerAnnotationContract.defaultPrefix,
            heartbeatMilliseconds: Int64 = 15_000,
            deadbandWatts: Double = 1.0, kubeconfig: String? = nil, context: String? = nil, unmetered: [String] = []
        ) {
            self.annotate = annotate
            self.prefix = prefix
            self.heartbeatMilliseconds = heartbeatMilliseconds
            self.deadbandWatts = deadbandWatts
            self.kubeconfig = kubeconfig
            self.context = context
            self.unmetered = unmetered
        }
    }

    /// How per-pod energy is measured (`kubernetes.podEnergy`, `staticPower`,
    /// `metricsInterval`, `staticWindow`, `staticWatts`, `knowledgeBase`).
    public struct PodEnergySettings: Sendable, Equatable {
        /// Whether per-pod energy is on.
        public var enabled = false
        /// How each node's static power is shared among its pods.
        public var staticPower = StaticPowerPolicy.requests
        /// How often `metrics.k8s.io` is read (milliseconds); metrics-server's resolution is 15 s.
        public var metricsIntervalMilliseconds: Int64 = 15_000
        /// How far back the fit of a node's static power looks (milliseconds).
        public var staticWindowMilliseconds: Int64 = 86_400_000
        /// A node's static power, in watts, instead of the fit (`staticWatts: {node: watts}`).
        public var staticWatts: [String: Double] = [:]
        /// A node's static power until the fit has enough varied data: the knowledge base's
        /// lowest `idlePowerWatts` of its entries, or set in code.
        public var startingWatts: [String: Double] = [:]
        /// The knowledge base file the starting values came from (`knowledgeBase:`).
        public var knowledgeBase: String?
        /// A node's allocatable CPU cores (`nodeCores: {node: cores}`): what `staticPower:
        /// requests` shares static power by (a pod requesting a quarter of the node gets a
        /// quarter, the unrequested rest is `idle`). Without it a node's static power goes to
        /// its running pods in proportion to their requests.
        public var nodeCores: [String: Double] = [:]

        /// Off, `requests`, 15 s, 24 h.
        public init() {}
    }

    /// Poll interval in milliseconds.
    public var intervalMilliseconds: Int64 = 1000
    /// SQLite database file.
    public var database: String = "/var/lib/energy-monitor/energy.db"
    /// Where the HTTP server listens.
    public var listen = MonitorConfiguration.defaultListen
    /// Where a listener that answers only `GET /healthz`, on an event loop of its own, binds
    /// (`healthListen:`); nil: none (`/healthz` on the main port only).
    public var healthListen: ListenAddress?
    /// Raw samples older than this are folded into minutes (milliseconds).
    public var retentionRawMilliseconds: Int64 = 14 * 86_400_000
    /// Minute rows older than this are deleted (milliseconds).
    public var retentionMinuteMilliseconds: Int64 = 400 * 86_400_000
    /// Most bytes (estimated) of samples kept in memory while the store cannot write; beyond
    /// it the oldest are dropped.
    public var backlogBytes: Int = 64 << 20
    /// The meters, node by node: one per plug, several for a node with `meters:`.
    public var plugs: [PlugConfiguration] = []

    /// The monitored nodes, in configuration order, each once.
    public var nodes: [String] {
        var seen: Set<String> = []
        return plugs.map(\.node).filter { seen.insert($0).inserted }
    }
    /// Annotation publishing.
    public var kubernetes = Kubernetes()
    /// The service as one shard of several (`shards:`); nil: one monitor of every plug.
    public var shards: ShardSettings?
    /// The grid's carbon intensity and the price of energy (`carbon:`, `price:`); empty: the
    /// service reports energy alone.
    public var footprint = FootprintSettings()

    /// `listen:` when the file names none: every IPv4 interface, port 9840.
    public static let defaultListen = ListenAddress(host: "0.0.0.0", port: 9840)
    /// The smallest and largest `backlog:`.
    static let backlogRange = 1024...(16 << 30)

    /// A configuration with defaults and no plugs.
    public init() {}

    /// Loads and validates a YAML file; every error names the file.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigurationError) -> MonitorConfiguration
    {
        let root = try YAMLDocument.read(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            return try parse(root, baseDirectory: base, environment: environment)
        } catch {
            throw error.located(in: path)
        }
    }

    /// The `carbon:` and `price:` of the service's configuration file and its `database:`
    /// (nil when the file names none), read alone: the commands that report energy
    /// (`energy --config`, `workflow --config`) take these from the service's file without
    /// needing its plugs' secrets. Every error names the file.
    public static func loadFootprint(path: String) throws(ConfigurationError) -> (
        settings: FootprintSettings, database: String?
    ) {
        let root = try YAMLDocument.read(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do throws(KeyPathError) {
            guard let root, case .mapping = root.node.content else {
                throw ConfigurationError("", "expected a mapping")
            }
            let reader = ConfigurationReader(baseDirectory: base, environment: [:])
            var keys: [String] = []
            for (key, _) in try root.entries() { keys.append(key) }
            let top = try root.fields(known: keys)
            var database: String?
            if let value = top["database"] { database = reader.resolve(try value.string()) }
            return (try reader.footprint(top), database)
        } catch {
            throw error.located(in: path)
        }
    }

    /// Parses and validates YAML text. Relative file paths are resolved against `baseDirectory`.
    public static func parse(yaml: String, baseDirectory: String, environment: [String: String] = [:])
        throws(ConfigurationError) -> MonitorConfiguration
    {
        try parse(try YAMLDocument.parse(yaml), baseDirectory: baseDirectory, environment: environment)
    }

    private static func parse(_ root: YAMLValue?, baseDirectory: String, environment: [String: String])
        throws(ConfigurationError) -> MonitorConfiguration
    {
        guard let root, case .mapping = root.node.content else {
            throw ConfigurationError("", "expected a mapping with at least `plugs`")
        }
        var configuration = MonitorConfiguration()
        let reader = ConfigurationReader(baseDirectory: baseDirectory, environment: environment)
        let top = try root.fields(known: [
            "interval", "database", "listen", "healthListen", "retention", "backlog", "plugs", "kubernetes", "shards",
            "carbon", "price",
        ])
        if let value = top["interval"] {
            configuration.intervalMilliseconds = try value.duration(atLeast: 100, atMost: 3_600_000)
        }
        if let value = top["database"] {
            configuration.database = reader.resolve(try value.string())
        }
        if let value = top["listen"] {
            configuration.listen = try value.listenAddress()
        }
        if let value = top["healthListen"] {
            configuration.healthListen = try value.listenAddress()
        }
        if let value = top["retention"] {
            let retention = try value.fields(known: ["raw", "minute"])
            if let raw = retention["raw"] {
                configuration.retentionRawMilliseconds = try raw.duration(atLeast: 60_000)
            }
            if let minute = retention["minute"] {
                configuration.retentionMinuteMilliseconds = try minute.duration()
            }
            guard configuration.retentionMinuteMilliseconds >= configuration.retentionRawMilliseconds else {
                throw ConfigurationError(value.path(of: "minute"), "must not be shorter than retention.raw")
            }
        }
        if let value = top["backlog"] {
            configuration.backlogBytes = try value.byteSize(in: backlogRange)
        }
        let plugsValue = try top.required("plugs")
        guard let plugs = try? plugsValue.list() else { throw plugsValue.error("must be a list of plugs") }
        guard !plugs.isEmpty else { throw plugsValue.error("must name at least one plug") }
        for value in plugs {
            configuration.plugs += try reader.plugs(value)
        }
        if let value = top["kubernetes"] {
            configuration.kubernetes = try reader.kubernetes(value, nodes: configuration.nodes)
        }
        if let value = top["shards"] {
            configuration.shards = try reader.shards(value)
        }
        configuration.footprint = try reader.footprint(top)
        // The rules across entries (duplicate nodes, two entries on one plug's channel) are the
        // ones a configuration built in code is held to; their key paths are the file's.
        try configuration.validate()
        return configuration
    }
}

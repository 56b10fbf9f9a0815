import AnnotationContract
import EnergyModel
import Foundation
import ShellyPoller
import Yams

/// The service's configuration, read from YAML (see the configuration reference in
/// README.md). Everything is validated at load time; secrets are read from files or the
/// environment here and nowhere else.
public struct MonitorConfiguration: Sendable {
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

        /// Defaults: off, the contract's default prefix (`energy.thesis.io`), 15 s, 1 W, automatic connection.
        public init(
            annotate: Bool = false, prefix: String = PowerAnnotationContract.defaultPrefix, heartbeatMilliseconds: Int64 = 15_000,
            deadbandWatts: Double = 1.0, kubeconfig: String? = nil, context: String? = nil
        ) {
            self.annotate = annotate
            self.prefix = prefix
            self.heartbeatMilliseconds = heartbeatMilliseconds
            self.deadbandWatts = deadbandWatts
            self.kubeconfig = kubeconfig
            self.context = context
        }
    }

    /// Poll interval in milliseconds.
    public var intervalMilliseconds: Int64 = 1000
    /// SQLite database file.
    public var database: String = "/var/lib/energy-monitor/energy.db"
    /// Address the HTTP server binds.
    public var listenHost: String = "0.0.0.0"
    /// Port the HTTP server binds.
    public var listenPort: Int = 9840
    /// Where a listener that answers only `GET /healthz`, on an event loop of its own, binds
    /// (`healthListen:`); nil: none (`/healthz` on the main port only).
    public var healthListen: (host: String, port: Int)?
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

    /// A configuration with defaults and no plugs.
    public init() {}

    /// Loads and validates a YAML file.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> MonitorConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("", "cannot read: \(Self.reason(error))")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, baseDirectory: base, environment: environment)
    }

    /// Parses and validates YAML text. Relative file paths are resolved against `baseDirectory`.
    public static func parse(yaml: String, baseDirectory: String, environment: [String: String] = [:]) throws(ConfigurationError) -> MonitorConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError("", "not valid YAML: \(String(describing: error).split(separator: "\n").joined(separator: " "))")
        }
        guard let root, let mapping = root.mapping else {
            throw ConfigurationError("", "expected a mapping with at least `plugs`")
        }
        var configuration = MonitorConfiguration()
        let reader = ConfigurationReader(baseDirectory: baseDirectory, environment: environment)
        let top = try reader.fields(mapping, path: "", known: ["interval", "database", "listen", "healthListen", "retention", "backlog", "plugs", "kubernetes"])
        if let node = top["interval"] {
            configuration.intervalMilliseconds = try reader.duration(node, path: "interval")
            guard (100...3_600_000).contains(configuration.intervalMilliseconds) else {
                throw ConfigurationError("interval", "must be between 100ms and 1h")
            }
        }
        if let node = top["database"] {
            configuration.database = reader.resolve(try reader.string(node, path: "database"))
        }
        if let node = top["listen"] {
            (configuration.listenHost, configuration.listenPort) = try reader.listen(node, path: "listen")
        }
        if let node = top["healthListen"] {
            let (host, port) = try reader.listen(node, path: "healthListen")
            configuration.healthListen = (host, port)
        }
        if let node = top["retention"] {
            let retention = try reader.fields(try reader.mapping(node, path: "retention"), path: "retention", known: ["raw", "minute"])
            if let raw = retention["raw"] {
                configuration.retentionRawMilliseconds = try reader.duration(raw, path: "retention.raw")
                guard configuration.retentionRawMilliseconds >= 60_000 else {
                    throw ConfigurationError("retention.raw", "must be at least 1m")
                }
            }
            if let minute = retention["minute"] {
                configuration.retentionMinuteMilliseconds = try reader.duration(minute, path: "retention.minute")
            }
            guard configuration.retentionMinuteMilliseconds >= configuration.retentionRawMilliseconds else {
                throw ConfigurationError("retention.minute", "must not be shorter than retention.raw")
            }
        }
        if let node = top["backlog"] {
            configuration.backlogBytes = try reader.byteSize(node, path: "backlog", range: 1024...(16 << 30))
        }
        guard let plugsNode = top["plugs"] else { throw ConfigurationError("plugs", "missing") }
        guard let plugs = plugsNode.sequence else { throw ConfigurationError("plugs", "must be a list of plugs") }
        guard !plugs.isEmpty else { throw ConfigurationError("plugs", "must name at least one plug") }
        var seenNodes: [String: Int] = [:]
        var seenAddresses: [String: String] = [:]
        for (index, node) in plugs.enumerated() {
            let path = "plugs[\(index)]"
            let meters = try reader.plugs(node, path: path)
            guard let name = meters.first?.node else { continue }
            if let other = seenNodes[name] {
                throw ConfigurationError("\(path).node", "duplicate node \"\(name)\" (also plugs[\(other)])")
            }
            seenNodes[name] = index
            for (position, plug) in meters.enumerated() {
                let key = "\(plug.baseURL)#\(plug.channel)"
                let addressPath = plug.meter == nil ? "\(path).address" : "\(path).meters[\(position)].address"
                if let other = seenAddresses[key] {
                    throw ConfigurationError(addressPath, "same plug and channel as \(other)")
                }
                seenAddresses[key] = addressPath.replacingOccurrences(of: ".address", with: "")
                configuration.plugs.append(plug)
            }
        }
        if let node = top["kubernetes"] {
            configuration.kubernetes = try reader.kubernetes(node, path: "kubernetes")
        }
        try configuration.validate()
        return configuration
    }

    static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError {
            return String(cString: strerror(Int32(underlying.code)))
        }
        let nsError = error as NSError
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileReadNoSuchFile: return "no such file"
            case .fileReadNoPermission: return "permission denied"
            default: break
            }
        }
        return nsError.localizedDescription
    }
}

import EnergyModel
import Foundation
import PodEnergy
import Scoring
import ShellyPoller
import UserInput

/// The parts of the service configuration, read from ``YAMLValue``s: every error names the key
/// path (`plugs[2].meters[0].address: missing`).
struct ConfigurationReader {
    let baseDirectory: String
    let environment: [String: String]

    /// The largest secret file read: a password is a few dozen bytes.
    static let maxSecretBytes = 64 << 10
    /// The largest `maxWatts`: 1 MW, beyond every meter's rating (a three-phase meter reads up
    /// to 180 kW), as the store's bound on power.
    static let maxWattsLimit = 1_000_000.0

    /// A path relative to the configuration file's folder, or absolute.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
    }

    /// The keys of one meter (a plug, or one channel of a device).
    static let meterKeys = [
        "address", "generation", "channel", "username", "passwordFile", "passwordEnv", "allowMD5", "transport",
        "maxWatts",
    ]

    /// A `plugs[i]` entry: one plug (`address` and the meter keys), or a node with several
    /// meters (`meters:`, each with a `name`, its `address` and any meter keys; meter keys given
    /// next to `meters` are defaults for every meter).
    func plugs(_ value: YAMLValue) throws(KeyPathError) -> [PlugConfiguration] {
        let fields = try value.fields(known: ["node", "meters"] + Self.meterKeys)
        let nodeValue = try fields.required("node")
        let name = try nodeValue.string()
        guard Self.isNodeName(name) else { throw nodeValue.error("\"\(name)\" is not a valid Kubernetes node name") }
        var defaults: [String: YAMLValue] = [:]
        for key in Self.meterKeys { defaults[key] = fields[key] }
        guard let metersValue = fields["meters"] else {
            return [try meter(defaults, node: name, name: nil, path: value.keyPath)]
        }
        if let address = fields["address"] { throw address.error("give address or meters, not both") }
        guard let list = try? metersValue.list(), !list.isEmpty else {
            throw metersValue.error("must be a list of at least one meter")
        }
        var meters: [PlugConfiguration] = []
        var names: Set<String> = []
        for entry in list {
            let meterFields = try entry.fields(known: ["name"] + Self.meterKeys)
            let nameValue = try meterFields.required("name")
            let meterName = try nameValue.string()
            guard meterName.utf8.count <= 63,
                meterName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                throw nameValue.error("\"\(meterName)\" is not a name of letters, digits, - _ and .")
            }
            guard names.insert(meterName).inserted else {
                throw nameValue.error("duplicate meter \"\(meterName)\" of node \(name)")
            }
            var merged = defaults
            for key in Self.meterKeys where meterFields[key] != nil { merged[key] = meterFields[key] }
            meters.append(try meter(merged, node: name, name: meterName, path: entry.keyPath))
        }
        return meters
    }

    /// One meter of `node` from its fields, each with the key path it came from.
    private func meter(_ fields: [String: YAMLValue], node name: String, name meterName: String?, path: String)
        throws(KeyPathError) -> PlugConfiguration
    {
        guard let address = fields["address"] else { throw KeyPathError("\(path).address", "missing") }
        var plug = PlugConfiguration(node: name, baseURL: try Self.baseURL(try address.string(), at: address))
        plug.meter = meterName
        if let generation = fields["generation"] {
            switch try generation.string().lowercased() {
            case "auto": plug.generation = .auto
            case "1": plug.generation = .gen1
            case "2", "3", "4": plug.generation = .rpc
            case let other: throw generation.error("must be auto, 1 or 2 (2 covers Gen3/Gen4), not \"\(other)\"")
            }
        }
        if let channel = fields["channel"] {
            plug.channel = try channel.integer(in: 0...15)
        }
        if let transport = fields["transport"] {
            let text = try transport.string().lowercased()
            guard let setting = TransportSetting(rawValue: text) else {
                throw transport.error("must be auto, websocket or http, not \"\(text)\"")
            }
            plug.transport = setting
        }
        if let allowMD5 = fields["allowMD5"] {
            plug.allowMD5 = try allowMD5.bool()
        }
        if let maxWatts = fields["maxWatts"] {
            let watts = try maxWatts.number()
            guard watts > 0, watts <= Self.maxWattsLimit else {
                throw maxWatts.error("must be a power above 0 and at most \(Self.maxWattsLimit) W, not \(watts)")
            }
            plug.maxWatts = watts
        }
        if let username = fields["username"] {
            plug.username = try username.string()
        }
        if fields["passwordFile"] != nil, let variable = fields["passwordEnv"] {
            throw variable.error("give passwordFile or passwordEnv, not both")
        }
        if let file = fields["passwordFile"] {
            let filePath = resolve(try file.string())
            plug.password = try readSecret(filePath, at: file)
            plug.passwordSource = .file(filePath)
        }
        if let variable = fields["passwordEnv"] {
            let name = try variable.string()
            guard let value = environment[name], !value.isEmpty else {
                throw variable.error("environment variable \(name) is not set")
            }
            plug.password = value
            plug.passwordSource = .environment(name)
        }
        return plug
    }

    /// Reads a secret file: the content without a trailing newline. The content never
    /// appears in an error.
    func readSecret(_ filePath: String, at value: YAMLValue) throws(KeyPathError) -> String {
        let text: String
        do {
            text = try UserFile(path: filePath, maxBytes: Self.maxSecretBytes).text()
        } catch {
            throw value.error(
                error.reason == .notText ? "\(filePath) is not UTF-8 text" : "cannot read \(filePath): \(error.problem)"
            )
        }
        var secret = Substring(text)
        while let last = secret.last, last == "\n" || last == "\r" { secret.removeLast() }
        guard !secret.isEmpty else { throw value.error("\(filePath) is empty") }
        return String(secret)
    }

    /// `kubernetes:`; `nodes` are the configured nodes, whose starting static power the
    /// knowledge base gives.
    func kubernetes(_ value: YAMLValue, nodes: [String]) throws(KeyPathError) -> MonitorConfiguration.Kubernetes {
        let fields = try value.fields(
            known: [
                "annotate", "prefix", "heartbeat", "deadband", "kubeconfig", "context", "unmetered", "podEnergy",
                "staticPower", "metricsInterval", "staticWindow", "staticWatts", "knowledgeBase", "nodeCores",
            ])
        var settings = MonitorConfiguration.Kubernetes()
        if let annotate = fields["annotate"] { settings.annotate = try annotate.bool() }
        if let prefix = fields["prefix"] {
            settings.prefix = try prefix.string()
            guard Self.isNodeName(settings.prefix) else {
                throw prefix.error("\"\(settings.prefix)\" is not a DNS subdomain")
            }
        }
        if let heartbeat = fields["heartbeat"] {
            settings.heartbeatMilliseconds = try heartbeat.duration(atLeast: 1000)
        }
        if let deadband = fields["deadband"] {
            settings.deadbandWatts = try deadband.number()
            guard settings.deadbandWatts >= 0 else { throw deadband.error("must not be negative") }
        }
        if let kubeconfig = fields["kubeconfig"] {
            let file = resolve(try kubeconfig.string())
            // Read once now so a wrong path is refused at start, not when the first patch is due.
            do {
                _ = try UserFile(path: file)
            } catch {
                throw kubeconfig.error("cannot read \(file): \(error.problem)")
            }
            settings.kubeconfig = file
        }
        if let context = fields["context"] {
            settings.context = try context.string()
        }
        if let unmetered = fields["unmetered"], !unmetered.isNull {
            for (index, node) in try unmetered.list().enumerated() {
                let name = try node.string()
                guard Self.isNodeName(name) else {
                    throw KeyPathError(
                        "\(unmetered.keyPath)[\(index)]", "\"\(name)\" is not a valid Kubernetes node name")
                }
                settings.unmetered.append(name)
            }
        }
        try podEnergy(fields, nodes: nodes, into: &settings.podEnergy)
        return settings
    }

    /// The per-pod energy keys of `kubernetes:`.
    private func podEnergy(
        _ fields: YAMLFields, nodes: [String], into settings: inout MonitorConfiguration.PodEnergySettings
    ) throws(KeyPathError) {
        if let enabled = fields["podEnergy"] { settings.enabled = try enabled.bool() }
        if let policy = fields["staticPower"] {
            let text = try policy.string()
            guard let value = StaticPowerPolicy(rawValue: text) else {
                throw policy.error("must be requests, even or none, not \"\(text)\"")
            }
            settings.staticPower = value
        }
        if let interval = fields["metricsInterval"] {
            settings.metricsIntervalMilliseconds = try interval.duration(atLeast: 1000, atMost: 600_000)
        }
        if let window = fields["staticWindow"] {
            settings.staticWindowMilliseconds = try window.duration(atLeast: 600_000, atMost: 30 * 86_400_000)
        }
        if let watts = fields["staticWatts"], !watts.isNull {
            for (node, value) in try watts.entries() {
                guard Self.isNodeName(node) else {
                    throw KeyPathError(watts.path(of: node), "\"\(node)\" is not a valid Kubernetes node name")
                }
                let number = try value.number()
                guard number.isFinite, (0...100_000).contains(number) else {
                    throw value.error("must be between 0 and 100000 watts")
                }
                settings.staticWatts[node] = number
            }
        }
        if let cores = fields["nodeCores"], !cores.isNull {
            for (node, value) in try cores.entries() {
                guard Self.isNodeName(node) else {
                    throw KeyPathError(cores.path(of: node), "\"\(node)\" is not a valid Kubernetes node name")
                }
                settings.nodeCores[node] = try value.number(in: 0.001...100_000, expected: "a number of cores")
            }
        }
        if let file = fields["knowledgeBase"] {
            let path = resolve(try file.string())
            let knowledgeBase: KnowledgeBase
            do { knowledgeBase = try KnowledgeBase(contentsOfFile: path) } catch {
                throw file.error("\(error)")
            }
            settings.knowledgeBase = path
            settings.startingWatts = knowledgeBase.lowestIdleWatts(nodes: nodes)
        }
    }

    /// A DNS subdomain (RFC 1123), as Kubernetes requires for node names.
    static func isNodeName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard let first = label.first, let last = label.last, label.count <= 63,
                first.isLetter || first.isNumber, last.isLetter || last.isNumber,
                label.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" })
            else { return false }
        }
        return true
    }

    /// `host`, `host:port`, `[v6]:port` or an `http://` URL, as `http://host:port`.
    static func baseURL(_ address: String, at value: YAMLValue) throws(KeyPathError) -> String {
        try baseURL(address, path: value.keyPath)
    }

    /// The same for an address without a YAML value, e.g. one built in code; `path` names it
    /// in errors.
    static func baseURL(_ address: String, path: String) throws(KeyPathError) -> String {
        struct Value {
            let keyPath: String
            func error(_ message: String) -> KeyPathError { KeyPathError(keyPath, message) }
        }
        let value = Value(keyPath: path)
        var rest = Substring(address)
        var scheme = "http"
        if let range = rest.range(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else {
                throw value.error("scheme must be http or https in \"\(address)\"")
            }
            rest = rest[range.upperBound...]
        }
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains(" "), !rest.isEmpty else {
            throw value.error("must be host, host:port or http://host[:port], not \"\(address)\"")
        }
        var host = String(rest)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw value.error("unclosed [ in \"\(address)\"") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard after.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(after.dropFirst())
                else {
                    throw value.error("bad port in \"\(address)\"")
                }
                port = number
            } else if !after.isEmpty {
                throw value.error("bad address \"\(address)\"")
            }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            let portText = host[host.index(after: colon)...]
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText) else {
                throw value.error("bad port in \"\(address)\"")
            }
            port = number
            host = String(host[..<colon])
        }
        if let port {
            guard (1...65535).contains(port) else { throw value.error("port must be 1...65535 in \"\(address)\"") }
            return "\(scheme)://\(host):\(port)"
        }
        guard !host.isEmpty else { throw value.error("missing host in \"\(address)\"") }
        return "\(scheme)://\(host)"
    }
}

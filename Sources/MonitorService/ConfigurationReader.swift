import EnergyModel
import Foundation
import ShellyPoller
import Yams

/// Typed access to YAML nodes, with the key path in every error.
struct ConfigurationReader {
    let baseDirectory: String
    let environment: [String: String]

    /// The mapping's values by key, refusing keys not in `known`.
    func fields(_ mapping: Node.Mapping, path: String, known: [String]) throws(ConfigurationError) -> [String: Node] {
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                // No key to name: point at the line instead.
                let line = keyNode.mark.map { " (line \($0.line))" } ?? ""
                throw ConfigurationError(path, "keys must be plain strings\(line)")
            }
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard known.contains(key) else {
                throw ConfigurationError(keyPath, "unknown key (known: \(known.joined(separator: ", ")))")
            }
            guard result[key] == nil else { throw ConfigurationError(keyPath, "given twice") }
            result[key] = value
        }
        return result
    }

    func mapping(_ node: Node, path: String) throws(ConfigurationError) -> Node.Mapping {
        guard let mapping = node.mapping else { throw ConfigurationError(path, "must be a mapping") }
        return mapping
    }

    func string(_ node: Node, path: String) throws(ConfigurationError) -> String {
        guard let scalar = node.scalar else { throw ConfigurationError(path, "must be a single value") }
        let value = scalar.string.trimmingSpaces()
        guard !value.isEmpty else { throw ConfigurationError(path, "must not be empty") }
        return value
    }

    func duration(_ node: Node, path: String) throws(ConfigurationError) -> Int64 {
        let text = try string(node, path: path)
        do {
            let value = try DurationParsing.milliseconds(text)
            guard value > 0 else { throw ConfigurationError(path, "must be longer than 0") }
            return value
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(path, "\(error)")
        }
    }

    func bool(_ node: Node, path: String) throws(ConfigurationError) -> Bool {
        switch try string(node, path: path).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw ConfigurationError(path, "must be true or false, not \"\(other)\"")
        }
    }

    func number(_ node: Node, path: String) throws(ConfigurationError) -> Double {
        let text = try string(node, path: path)
        guard let value = Double(text), value.isFinite else { throw ConfigurationError(path, "must be a number, not \"\(text)\"") }
        return value
    }

    func integer(_ node: Node, path: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try string(node, path: path)
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), range.contains(value) else {
            throw ConfigurationError(path, "must be an integer in \(range.lowerBound)...\(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// Units of `byteSize`, by their lowercased name.
    static let byteUnits: [String: Int] = [
        "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000,
    ]

    /// A whole number of bytes with a unit: `64MiB`, `512 KiB`, `1GiB`, `100MB`, `4096B`. A
    /// bare number is refused, as for durations: `64` could mean bytes or MiB.
    func byteSize(_ node: Node, path: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try string(node, path: path)
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = String(text.dropFirst(digits.count)).trimmingSpaces().lowercased()
        let example = "e.g. 64MiB (units B, KiB, MiB, GiB, KB, MB, GB)"
        guard !digits.isEmpty, !unit.isEmpty, let scale = Self.byteUnits[unit] else {
            throw ConfigurationError(path, "must be a whole number of bytes with a unit, \(example), not \"\(text)\"")
        }
        guard let number = Int(digits) else { throw ConfigurationError(path, "\"\(text)\" is too large") }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
        guard !overflow, range.contains(bytes) else {
            throw ConfigurationError(
                path, "must be between \(Self.describeBytes(range.lowerBound)) and \(Self.describeBytes(range.upperBound)), not \"\(text)\""
            )
        }
        return bytes
    }

    /// `1KiB`, `16GiB`: a size in the largest binary unit that divides it.
    static func describeBytes(_ bytes: Int) -> String {
        for (unit, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(unit)"
        }
        return "\(bytes)B"
    }

    /// A path relative to the configuration file's folder, or absolute.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
    }

    /// `host:port`, `:port` or `[v6]:port`.
    func listen(_ node: Node, path: String) throws(ConfigurationError) -> (String, Int) {
        let text = try string(node, path: path)
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigurationError(path, "must be host:port, e.g. 0.0.0.0:9840")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (1...65535).contains(port) else {
            throw ConfigurationError(path, "port must be 1...65535 in \"\(text)\"")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }

    /// The keys of one meter (a plug, or one channel of a device).
    static let meterKeys = ["address", "generation", "channel", "username", "passwordFile", "passwordEnv", "allowMD5", "transport"]

    /// A `plugs[i]` entry: one plug (`address` and the meter keys), or a node with several
    /// meters (`meters:`, each with a `name`, its `address` and any meter keys; meter keys given
    /// next to `meters` are defaults for every meter).
    func plugs(_ node: Node, path: String) throws(ConfigurationError) -> [PlugConfiguration] {
        let fields = try fields(try mapping(node, path: path), path: path, known: ["node", "meters"] + Self.meterKeys)
        guard let nodeNode = fields["node"] else { throw ConfigurationError("\(path).node", "missing") }
        let name = try string(nodeNode, path: "\(path).node")
        guard Self.isNodeName(name) else {
            throw ConfigurationError("\(path).node", "\"\(name)\" is not a valid Kubernetes node name")
        }
        var defaults: [String: (Node, String)] = [:]
        for key in Self.meterKeys { if let value = fields[key] { defaults[key] = (value, "\(path).\(key)") } }
        guard let metersNode = fields["meters"] else {
            return [try meter(defaults, node: name, name: nil, path: path)]
        }
        if fields["address"] != nil {
            throw ConfigurationError("\(path).address", "give address or meters, not both")
        }
        guard let list = metersNode.sequence, !list.isEmpty else {
            throw ConfigurationError("\(path).meters", "must be a list of at least one meter")
        }
        var meters: [PlugConfiguration] = []
        var names: Set<String> = []
        for (index, entry) in list.enumerated() {
            let meterPath = "\(path).meters[\(index)]"
            let meterFields = try self.fields(try mapping(entry, path: meterPath), path: meterPath, known: ["name"] + Self.meterKeys)
            guard let nameNode = meterFields["name"] else { throw ConfigurationError("\(meterPath).name", "missing") }
            let meterName = try string(nameNode, path: "\(meterPath).name")
            guard meterName.utf8.count <= 63, meterName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw ConfigurationError("\(meterPath).name", "\"\(meterName)\" is not a name of letters, digits, - _ and .")
            }
            guard names.insert(meterName).inserted else {
                throw ConfigurationError("\(meterPath).name", "duplicate meter \"\(meterName)\" of node \(name)")
            }
            var merged = defaults
            for key in Self.meterKeys { if let value = meterFields[key] { merged[key] = (value, "\(meterPath).\(key)") } }
            meters.append(try meter(merged, node: name, name: meterName, path: meterPath))
        }
        return meters
    }

    /// One meter of `node` from its fields, each with the key path it came from.
    private func meter(_ fields: [String: (Node, String)], node name: String, name meterName: String?, path: String) throws(ConfigurationError) -> PlugConfiguration {
        guard let (addressNode, addressPath) = fields["address"] else { throw ConfigurationError("\(path).address", "missing") }
        let baseURL = try Self.baseURL(try string(addressNode, path: addressPath), path: addressPath)
        var plug = PlugConfiguration(node: name, baseURL: baseURL)
        plug.meter = meterName
        if let (generation, keyPath) = fields["generation"] {
            switch try string(generation, path: keyPath).lowercased() {
            case "auto": plug.generation = .auto
            case "1": plug.generation = .gen1
            case "2", "3", "4": plug.generation = .rpc
            case let other:
                throw ConfigurationError(keyPath, "must be auto, 1 or 2 (2 covers Gen3/Gen4), not \"\(other)\"")
            }
        }
        if let (channel, keyPath) = fields["channel"] {
            plug.channel = try integer(channel, path: keyPath, range: 0...15)
        }
        if let (transport, keyPath) = fields["transport"] {
            let text = try string(transport, path: keyPath).lowercased()
            guard let setting = TransportSetting(rawValue: text) else {
                throw ConfigurationError(keyPath, "must be auto, websocket or http, not \"\(text)\"")
            }
            plug.transport = setting
        }
        if let (allowMD5, keyPath) = fields["allowMD5"] {
            plug.allowMD5 = try bool(allowMD5, path: keyPath)
        }
        if let (username, keyPath) = fields["username"] {
            plug.username = try string(username, path: keyPath)
        }
        if fields["passwordFile"] != nil, let (_, keyPath) = fields["passwordEnv"] {
            throw ConfigurationError(keyPath, "give passwordFile or passwordEnv, not both")
        }
        if let (file, keyPath) = fields["passwordFile"] {
            let filePath = resolve(try string(file, path: keyPath))
            plug.password = try readSecret(filePath, path: keyPath)
        }
        if let (variable, keyPath) = fields["passwordEnv"] {
            let name = try string(variable, path: keyPath)
            guard let value = environment[name], !value.isEmpty else {
                throw ConfigurationError(keyPath, "environment variable \(name) is not set")
            }
            plug.password = value
        }
        return plug
    }

    /// Reads a secret file: the content without a trailing newline. The content never
    /// appears in an error.
    func readSecret(_ filePath: String, path: String) throws(ConfigurationError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: filePath))
        } catch {
            throw ConfigurationError(path, "cannot read \(filePath): \(MonitorConfiguration.reason(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(path, "\(filePath) is not UTF-8 text")
        }
        var secret = Substring(text)
        while let last = secret.last, last == "\n" || last == "\r" { secret.removeLast() }
        guard !secret.isEmpty else { throw ConfigurationError(path, "\(filePath) is empty") }
        return String(secret)
    }

    func kubernetes(_ node: Node, path: String) throws(ConfigurationError) -> MonitorConfiguration.Kubernetes {
        let fields = try fields(
            try mapping(node, path: path), path: path,
            known: ["annotate", "prefix", "heartbeat", "deadband", "kubeconfig", "context"]
        )
        var settings = MonitorConfiguration.Kubernetes()
        if let annotate = fields["annotate"] { settings.annotate = try bool(annotate, path: "\(path).annotate") }
        if let prefix = fields["prefix"] {
            settings.prefix = try string(prefix, path: "\(path).prefix")
            guard Self.isNodeName(settings.prefix) else {
                throw ConfigurationError("\(path).prefix", "\"\(settings.prefix)\" is not a DNS subdomain")
            }
        }
        if let heartbeat = fields["heartbeat"] {
            settings.heartbeatMilliseconds = try duration(heartbeat, path: "\(path).heartbeat")
            guard settings.heartbeatMilliseconds >= 1000 else {
                throw ConfigurationError("\(path).heartbeat", "must be at least 1s")
            }
        }
        if let deadband = fields["deadband"] {
            settings.deadbandWatts = try number(deadband, path: "\(path).deadband")
            guard settings.deadbandWatts >= 0 else { throw ConfigurationError("\(path).deadband", "must not be negative") }
        }
        if let kubeconfig = fields["kubeconfig"] {
            let file = resolve(try string(kubeconfig, path: "\(path).kubeconfig"))
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ConfigurationError("\(path).kubeconfig", "cannot read \(file)")
            }
            settings.kubeconfig = file
        }
        if let context = fields["context"] {
            settings.context = try string(context, path: "\(path).context")
        }
        return settings
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
    static func baseURL(_ address: String, path: String) throws(ConfigurationError) -> String {
        var rest = Substring(address)
        var scheme = "http"
        if let range = rest.range(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else {
                throw ConfigurationError(path, "scheme must be http or https in \"\(address)\"")
            }
            rest = rest[range.upperBound...]
        }
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains(" "), !rest.isEmpty else {
            throw ConfigurationError(path, "must be host, host:port or http://host[:port], not \"\(address)\"")
        }
        var host = String(rest)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw ConfigurationError(path, "unclosed [ in \"\(address)\"") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard after.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(after.dropFirst()) else {
                    throw ConfigurationError(path, "bad port in \"\(address)\"")
                }
                port = value
            } else if !after.isEmpty {
                throw ConfigurationError(path, "bad address \"\(address)\"")
            }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            let portText = host[host.index(after: colon)...]
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(portText) else {
                throw ConfigurationError(path, "bad port in \"\(address)\"")
            }
            port = value
            host = String(host[..<colon])
        }
        if let port {
            guard (1...65535).contains(port) else { throw ConfigurationError(path, "port must be 1...65535 in \"\(address)\"") }
            return "\(scheme)://\(host):\(port)"
        }
        guard !host.isEmpty else { throw ConfigurationError(path, "missing host in \"\(address)\"") }
        return "\(scheme)://\(host)"
    }
}

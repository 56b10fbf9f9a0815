import EnergyModel
import ShellyPoller
import UserInput

extension MonitorConfiguration {
    /// The configuration as YAML that ``parse(yaml:baseDirectory:environment:)`` reads back to
    /// the same configuration: every string quoted where YAML would misread it (a database
    /// path with `#` or spaces, an IPv6 listen address). Settings at their defaults are left out
    /// (`database`, `listen` and `plugs` are always written), so a user can add one below.
    /// Passwords are never written: a plug names its ``PlugConfiguration/passwordSource``
    /// (`passwordFile:` or `passwordEnv:`), and a password set without one is left out.
    public func yaml(header: String? = nil) -> String {
        let defaults = MonitorConfiguration()
        var top: [(key: String, value: YAMLOutput)] = []
        if intervalMilliseconds != defaults.intervalMilliseconds {
            top.append(("interval", .token(DurationParsing.text(milliseconds: intervalMilliseconds))))
        }
        top.append(("database", .string(database)))
        top.append(("listen", .string(listen.description)))
        var retention: [(key: String, value: YAMLOutput)] = []
        if retentionRawMilliseconds != defaults.retentionRawMilliseconds {
            retention.append(("raw", .token(DurationParsing.text(milliseconds: retentionRawMilliseconds))))
        }
        if retentionMinuteMilliseconds != defaults.retentionMinuteMilliseconds {
            retention.append(("minute", .token(DurationParsing.text(milliseconds: retentionMinuteMilliseconds))))
        }
        if !retention.isEmpty { top.append(("retention", .mapping(retention))) }
        if backlogBytes != defaults.backlogBytes {
            top.append(("backlog", .token(YAMLValue.describeBytes(backlogBytes))))
        }
        top.append(("plugs", .list(plugEntries())))
        if kubernetes != Kubernetes() {
            var settings: [(key: String, value: YAMLOutput)] = [
                ("annotate", .token(kubernetes.annotate ? "true" : "false")),
                ("prefix", .string(kubernetes.prefix)),
                ("heartbeat", .token(DurationParsing.text(milliseconds: kubernetes.heartbeatMilliseconds))),
                ("deadband", .token("\(kubernetes.deadbandWatts)")),
            ]
            if let kubeconfig = kubernetes.kubeconfig { settings.append(("kubeconfig", .string(kubeconfig))) }
            if let context = kubernetes.context { settings.append(("context", .string(context))) }
            if !kubernetes.unmetered.isEmpty {
                settings.append(("unmetered", .list(kubernetes.unmetered.map { .string($0) })))
            }
            settings += podEnergyKeys(kubernetes.podEnergy)
            top.append(("kubernetes", .mapping(settings)))
        }
        if let shards {
            var settings: [(key: String, value: YAMLOutput)] = [("count", .token("\(shards.count)"))]
            if case .fixed(let index) = shards.index { settings.append(("index", .token("\(index)"))) }
            if !shards.peers.isEmpty { settings.append(("peers", .list(shards.peers.map { .string($0) }))) }
            top.append(("shards", .mapping(settings)))
        }
        return YAMLOutput.mapping(top).text(header: header)
    }

    /// The per-pod energy keys that differ from their defaults. Starting values set in code
    /// (not from a `knowledgeBase:` file) cannot be written; the fit replaces them anyway.
    private func podEnergyKeys(_ pods: PodEnergySettings) -> [(key: String, value: YAMLOutput)] {
        let defaults = PodEnergySettings()
        var keys: [(key: String, value: YAMLOutput)] = []
        if pods.enabled { keys.append(("podEnergy", .token("true"))) }
        if pods.staticPower != defaults.staticPower { keys.append(("staticPower", .token(pods.staticPower.rawValue))) }
        if pods.metricsIntervalMilliseconds != defaults.metricsIntervalMilliseconds {
            keys.append(
                ("metricsInterval", .token(DurationParsing.text(milliseconds: pods.metricsIntervalMilliseconds))))
        }
        if pods.staticWindowMilliseconds != defaults.staticWindowMilliseconds {
            keys.append(("staticWindow", .token(DurationParsing.text(milliseconds: pods.staticWindowMilliseconds))))
        }
        if !pods.staticWatts.isEmpty {
            keys.append(
                (
                    "staticWatts",
                    .mapping(pods.staticWatts.sorted { $0.key < $1.key }.map { ($0.key, .token("\($0.value)")) })
                ))
        }
        if !pods.nodeCores.isEmpty {
            keys.append(
                (
                    "nodeCores",
                    .mapping(pods.nodeCores.sorted { $0.key < $1.key }.map { ($0.key, .token("\($0.value)")) })
                ))
        }
        if let file = pods.knowledgeBase { keys.append(("knowledgeBase", .string(file))) }
        return keys
    }

    /// One entry per node: a plug's keys, or `meters:` for the meters of a node.
    private func plugEntries() -> [YAMLOutput] {
        var entries: [YAMLOutput] = []
        var index = 0
        while index < plugs.count {
            let plug = plugs[index]
            guard plug.meter != nil else {
                entries.append(.mapping([("node", .string(plug.node))] + Self.meterKeys(plug)))
                index += 1
                continue
            }
            var meters: [YAMLOutput] = []
            while index < plugs.count, plugs[index].node == plug.node, let name = plugs[index].meter {
                meters.append(.mapping([("name", .string(name))] + Self.meterKeys(plugs[index])))
                index += 1
            }
            entries.append(.mapping([("node", .string(plug.node)), ("meters", .list(meters))]))
        }
        return entries
    }

    /// The address and every meter key that differs from its default.
    private static func meterKeys(_ plug: PlugConfiguration) -> [(key: String, value: YAMLOutput)] {
        let defaults = PlugConfiguration(node: plug.node, baseURL: plug.baseURL)
        var keys: [(key: String, value: YAMLOutput)] = [("address", .string(plug.baseURL))]
        switch plug.generation {
        case .auto: break
        case .gen1: keys.append(("generation", .token("1")))
        case .rpc: keys.append(("generation", .token("2")))
        }
        if plug.channel != defaults.channel { keys.append(("channel", .token("\(plug.channel)"))) }
        if plug.username != defaults.username { keys.append(("username", .string(plug.username))) }
        switch plug.passwordSource {
        case .file(let path): keys.append(("passwordFile", .string(path)))
        case .environment(let name): keys.append(("passwordEnv", .string(name)))
        case nil: break
        }
        if plug.allowMD5 != defaults.allowMD5 { keys.append(("allowMD5", .token(plug.allowMD5 ? "true" : "false"))) }
        if plug.transport != defaults.transport { keys.append(("transport", .token(plug.transport.rawValue))) }
        if let watts = plug.maxWatts { keys.append(("maxWatts", .token("\(watts)"))) }
        return keys
    }
}

import EnergyModel
import ShellyPoller

extension MonitorConfiguration {
    /// Checks a configuration built in code (by `demo`, the offline cluster, tests) against
    /// the rules a configuration file is held to, with the key path a file would have in the
    /// message (`plugs[1].node: duplicate node "tvpc" (also plugs[0])`).
    public func validate() throws(ConfigurationError) {
        guard (100...3_600_000).contains(intervalMilliseconds) else {
            throw ConfigurationError("interval", "must be between 100ms and 1h")
        }
        guard retentionRawMilliseconds >= 60_000 else {
            throw ConfigurationError("retention.raw", "must be at least 1m")
        }
        guard retentionMinuteMilliseconds >= retentionRawMilliseconds else {
            throw ConfigurationError("retention.minute", "must not be shorter than retention.raw")
        }
        guard (1024...(16 << 30)).contains(backlogBytes) else {
            throw ConfigurationError("backlog", "must be between 1KiB and 16GiB")
        }
        guard !database.isEmpty else { throw ConfigurationError("database", "must not be empty") }
        guard !listen.host.isEmpty, (0...65535).contains(listen.port) else {
            throw ConfigurationError("listen", "must be host:port with a port in 0...65535")
        }
        if let health = healthListen {
            guard !health.host.isEmpty, (0...65535).contains(health.port) else {
                throw ConfigurationError("healthListen", "must be host:port with a port in 0...65535")
            }
            guard health.port != listen.port || health.port == 0 else {
                throw ConfigurationError("healthListen", "must differ from listen's port \(listen.port)")
            }
        }
        guard !plugs.isEmpty else { throw ConfigurationError("plugs", "must name at least one plug") }
        try validateShards()
        // Entries as a file has them: a node's meters are one entry.
        var entryOfNode: [String: Int] = [:]
        var entry = -1
        var previous: String?
        var meterNames: Set<String> = []
        var addresses: [String: String] = [:]
        for plug in plugs {
            // A node's meters follow each other and have names; anything else starts an entry.
            if plug.node != previous || plug.meter == nil {
                entry += 1
                previous = plug.node
                meterNames = []
                if let other = entryOfNode[plug.node] {
                    throw ConfigurationError(
                        "plugs[\(entry)].node", "duplicate node \"\(plug.node)\" (also plugs[\(other)])")
                }
                entryOfNode[plug.node] = entry
                guard ConfigurationReader.isNodeName(plug.node) else {
                    throw ConfigurationError(
                        "plugs[\(entry)].node", "\"\(plug.node)\" is not a valid Kubernetes node name")
                }
            }
            var path = "plugs[\(entry)]"
            if let meter = plug.meter {
                path += ".meters[\(meterNames.count)]"
                guard meterNames.insert(meter).inserted else {
                    throw ConfigurationError(
                        "\(path).name", "duplicate meter \"\(meter)\" of node \(plug.node)")
                }
            }
            do {
                guard try ConfigurationReader.baseURL(plug.baseURL, path: "\(path).address") == plug.baseURL
                else {
                    throw ConfigurationError(
                        "\(path).address", "must be http://host[:port], not \"\(plug.baseURL)\"")
                }
            }
            guard (0...15).contains(plug.channel) else {
                throw ConfigurationError(
                    "\(path).channel", "must be an integer in 0...15, not \"\(plug.channel)\"")
            }
            if let watts = plug.maxWatts {
                guard watts.isFinite, watts > 0, watts <= ConfigurationReader.maxWattsLimit else {
                    throw ConfigurationError(
                        "\(path).maxWatts",
                        "must be a power above 0 and at most \(ConfigurationReader.maxWattsLimit) W, not \(watts)")
                }
            }
            let key = "\(plug.baseURL)#\(plug.channel)"
            if let other = addresses[key] {
                throw ConfigurationError("\(path).address", "same plug and channel as \(other)")
            }
            addresses[key] = path
        }
        guard ConfigurationReader.isNodeName(kubernetes.prefix) else {
            throw ConfigurationError(
                "kubernetes.prefix", "\"\(kubernetes.prefix)\" is not a DNS subdomain")
        }
        guard kubernetes.heartbeatMilliseconds >= 1000 else {
            throw ConfigurationError("kubernetes.heartbeat", "must be at least 1s")
        }
        guard kubernetes.deadbandWatts.isFinite, kubernetes.deadbandWatts >= 0 else {
            throw ConfigurationError("kubernetes.deadband", "must not be negative")
        }
        var unmetered: Set<String> = []
        for (index, node) in kubernetes.unmetered.enumerated() {
            guard ConfigurationReader.isNodeName(node) else {
                throw ConfigurationError(
                    "kubernetes.unmetered[\(index)]", "\"\(node)\" is not a valid Kubernetes node name")
            }
            guard unmetered.insert(node).inserted else {
                throw ConfigurationError("kubernetes.unmetered[\(index)]", "duplicate node \"\(node)\"")
            }
            if let plug = entryOfNode[node] {
                throw ConfigurationError(
                    "kubernetes.unmetered[\(index)]",
                    "node \"\(node)\" has a plug (plugs[\(plug)]); list it in one place only")
            }
        }
        let pods = kubernetes.podEnergy
        guard (1000...600_000).contains(pods.metricsIntervalMilliseconds) else {
            throw ConfigurationError("kubernetes.metricsInterval", "must be between 1s and 10m")
        }
        guard (600_000...(30 * 86_400_000)).contains(pods.staticWindowMilliseconds) else {
            throw ConfigurationError("kubernetes.staticWindow", "must be between 10m and 30d")
        }
        for (node, watts) in pods.staticWatts.sorted(by: { $0.key < $1.key }) {
            guard entryOfNode[node] != nil else {
                throw ConfigurationError("kubernetes.staticWatts.\(node)", "node \"\(node)\" has no plug")
            }
            guard watts.isFinite, (0...100_000).contains(watts) else {
                throw ConfigurationError("kubernetes.staticWatts.\(node)", "must be between 0 and 100000 watts")
            }
        }
    }
}

extension MonitorConfiguration {
    /// The rules of `shards:`: a count in range, an index below it, a peer URL per shard.
    func validateShards() throws(ConfigurationError) {
        guard let shards else { return }
        guard (1...ShardAssignment.maxCount).contains(shards.count) else {
            throw ConfigurationError("shards.count", "must be between 1 and \(ShardAssignment.maxCount)")
        }
        if case .fixed(let index) = shards.index, !(0..<shards.count).contains(index) {
            throw ConfigurationError("shards.index", "must be between 0 and \(shards.count - 1)")
        }
        guard shards.peers.isEmpty || shards.peers.count == shards.count else {
            throw ConfigurationError(
                "shards.peers", "\(shards.peers.count) URLs for \(shards.count) shards; give one per shard")
        }
    }

    /// The configuration of shard `assignment`: its plugs only, and the per-node settings of
    /// its nodes. Everything else, `shards:` included, is the same in every shard.
    public func shardLocal(_ assignment: ShardAssignment) -> MonitorConfiguration {
        var local = self
        local.plugs = plugs.filter { assignment.owns($0.node) }
        let owned = Set(local.plugs.map(\.node))
        local.kubernetes.podEnergy.staticWatts = kubernetes.podEnergy.staticWatts.filter { owned.contains($0.key) }
        local.kubernetes.podEnergy.startingWatts = kubernetes.podEnergy.startingWatts.filter { owned.contains($0.key) }
        local.kubernetes.podEnergy.nodeCores = kubernetes.podEnergy.nodeCores.filter { owned.contains($0.key) }
        return local
    }
}

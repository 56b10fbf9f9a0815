import CurlClient
import EnergyModel
import Exposition
import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// The shard part of `bench`: one simulator of many plugs and `count` services, each
/// `run --shard I/N --peers ...` with its own store, as child processes. It measures what
/// each shard costs and delivers, whether every node is polled by exactly one shard, whether
/// every shard answers queries for any node alike, and what a shard killed and restarted
/// loses (its own nodes' ticks of that time, nobody else's).
struct ShardBench {
    /// One shard's figures over the measured window.
    struct ShardFigures {
        var index: Int
        var nodes: Int
        var deliveredPercent: Double
        var cpuPercent: Double
        var residentBytes: Int
        var anonymousBytes: Int
    }

    /// The whole run's figures.
    struct Figures {
        var shards: [ShardFigures]
        var plugs: Int
        var seconds: Int
        /// Nodes exported by no shard, by more than one, or by another than their owner.
        var missing: Int
        var duplicated: Int
        var misplaced: Int
        /// Queries asked (nodes times shards), answered with 200, nodes whose answers differed.
        var queries: Int
        var answered: Int
        var differing: Int
        /// The killed shard, its outage, and per shard the share of ticks stored in it.
        var killed: Int
        var downSeconds: Double
        var outageSeconds: Double
        var outageDeliveredPercent: [Double]
    }

    let poll: PollBench
    let count: Int
    let plugs: Int
    let seconds: Int
    /// Nodes of each shard whose energy every shard is asked for.
    let queriedPerShard = 10
    /// How long the killed shard stays down before it is started again.
    let downSeconds = 10.0

    private struct Running {
        var index: Int
        var child: BenchChild
        var base: String
        var arguments: [String]
        var databasePath: String
    }

    func run() async throws -> Figures {
        let folder = poll.folder
        let name = "shards-\(count)x\(plugs)"
        let configPath = folder.appendingPathComponent("\(name).yaml").path
        let lifetime = String(seconds + 240 + plugs / 20)
        guard let simulatorListen = BenchChild.freePort() else { throw CommandFailure("no free port") }
        let simulator = try await poll.startSimulator(
            name: name, plugs: plugs, configPath: configPath,
            databasePath: folder.appendingPathComponent("\(name)-unused.db").path, listenPort: simulatorListen,
            lifetime: lifetime)
        defer { simulator.stop() }
        let template = try String(contentsOfFile: configPath, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("database:") && !$0.hasPrefix("listen:") }.joined(separator: "\n")
        var ports: [Int] = []
        for _ in 0..<count {
            guard let port = BenchChild.freePort() else { throw CommandFailure("no free port for a shard") }
            ports.append(port)
        }
        let peers = ports.map { "http://127.0.0.1:\($0)" }.joined(separator: ",")
        var shards: [Running] = []
        defer { for shard in shards { shard.child.stop() } }
        for index in 0..<count {
            let database = folder.appendingPathComponent("\(name)-\(index).db").path
            let config = folder.appendingPathComponent("\(name)-\(index).yaml").path
            try ("database: \(database)\nlisten: 127.0.0.1:\(ports[index])\n" + template)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let arguments = [
                "run", "--config", config, "--shard", "\(index)/\(count)", "--peers", peers, "--log-level", "error",
                "--duration", lifetime,
            ]
            let child = try BenchChild(
                name: "energy-monitor run (shard \(index))", executable: poll.executable, arguments: arguments,
                logPath: folder.appendingPathComponent("\(name)-\(index).run.log").path)
            shards.append(
                Running(
                    index: index, child: child, base: "http://127.0.0.1:\(ports[index])", arguments: arguments,
                    databasePath: database))
        }
        for shard in shards {
            try await poll.waitUntilReady(shard.base + "/readyz", child: shard.child, seconds: 60 + Double(plugs) / 50)
        }
        try await Task.sleep(for: .seconds(10))

        // The measured window.
        let start = (WallClockSeconds.now() + 1).rounded(.down)
        try await poll.sleep(until: start + 0.05)
        let before = shards.map { ProcessUsage.read(pid: $0.child.pid) }
        let cpuStart = WallClockSeconds.now()
        try await poll.sleep(until: start + Double(seconds) + 0.05)
        let after = shards.map { ProcessUsage.read(pid: $0.child.pid) }
        let cpuSeconds = WallClockSeconds.now() - cpuStart
        try await poll.sleep(until: start + Double(seconds) + 1.5)

        // Who exports which node.
        let names = (0..<plugs).map { "sim-\($0)" }
        var exportedBy: [String: [Int]] = [:]
        for shard in shards {
            let metrics = try await poll.scrape(shard.base + "/metrics")
            for node in metrics.labelValues("energy_monitor_plug_up", label: "node") {
                exportedBy[node, default: []].append(shard.index)
            }
        }
        let owner = Dictionary(uniqueKeysWithValues: names.map { ($0, ShardAssignment.owner(of: $0, count: count)) })
        let missing = names.filter { exportedBy[$0] == nil }.count
        let duplicated = exportedBy.values.filter { $0.count > 1 }.count
        let misplaced = exportedBy.filter { node, indices in indices.contains { $0 != owner[node] } }.count

        // Every shard asked for nodes of every shard over the window.
        let window =
            "from=\(String(format: "%.3f", start))&to=\(String(format: "%.3f", start + Double(seconds)))"
        var queried: [String] = []
        for index in 0..<count { queried += names.filter { owner[$0] == index }.prefix(queriedPerShard) }
        var answered = 0
        var differing = 0
        for node in queried {
            var bodies: Set<[UInt8]> = []
            for shard in shards {
                let response = try? await poll.client.perform(
                    HTTPRequest(url: shard.base + "/api/v1/energy?node=\(node)&\(window)", timeoutMilliseconds: 60_000))
                if let response, response.status == 200 {
                    answered += 1
                    bodies.insert(response.body)
                }
            }
            if bodies.count > 1 { differing += 1 }
        }

        // One shard killed, down for a while, started again on its own store.
        let killed = min(1, count - 1)
        let rssAfter = shards.map { ProcessUsage.read(pid: $0.child.pid) }
        kill(shards[killed].child.pid, SIGKILL)
        _ = await shards[killed].child.waitForExit(seconds: 10)
        let killedAt = WallClockSeconds.now()
        try await poll.sleep(until: killedAt + downSeconds)
        shards[killed].child = try BenchChild(
            name: "energy-monitor run (shard \(killed), restarted)", executable: poll.executable,
            arguments: shards[killed].arguments,
            logPath: poll.folder.appendingPathComponent("\(name)-\(killed)-restarted.run.log").path)
        try await poll.waitUntilReady(
            shards[killed].base + "/readyz", child: shards[killed].child, seconds: 60 + Double(plugs) / 50)
        let outageEnd = (WallClockSeconds.now() + 3).rounded(.down)
        let outageStart = killedAt.rounded(.down)
        try await poll.sleep(until: outageEnd + 3)
        for shard in shards { shard.child.stop() }
        simulator.stop()

        var figures: [ShardFigures] = []
        var outageDelivered: [Double] = []
        for shard in shards {
            let nodes = names.filter { owner[$0] == shard.index }.count
            let store = try EnergyStore(path: shard.databasePath, readOnly: true)
            defer { store.close() }
            let from = Int64(clampingRounding: start) * 1000
            let stored = try await store.sampleCount(
                fromMilliseconds: from, toMilliseconds: from + Int64(clamping: seconds) * 1000)
            let outageFrom = Int64(clampingRounding: outageStart) * 1000
            let outageTo = Int64(clampingRounding: outageEnd) * 1000
            let outageStored = try await store.sampleCount(fromMilliseconds: outageFrom, toMilliseconds: outageTo)
            let outageTicks = Double(outageTo - outageFrom) / 1000
            outageDelivered.append(nodes > 0 ? 100 * Double(outageStored) / (Double(nodes) * outageTicks) : 0)
            let cpu =
                if let first = before[shard.index], let last = after[shard.index] {
                    100 * (last.cpuSeconds - first.cpuSeconds) / cpuSeconds
                } else { 0.0 }
            figures.append(
                ShardFigures(
                    index: shard.index, nodes: nodes,
                    deliveredPercent: nodes > 0 ? 100 * Double(stored) / Double(nodes * seconds) : 0,
                    cpuPercent: cpu, residentBytes: rssAfter[shard.index]?.residentBytes ?? 0,
                    anonymousBytes: rssAfter[shard.index]?.anonymousBytes ?? 0))
        }
        return Figures(
            shards: figures, plugs: plugs, seconds: seconds, missing: missing, duplicated: duplicated,
            misplaced: misplaced, queries: queried.count * count, answered: answered, differing: differing,
            killed: killed, downSeconds: downSeconds, outageSeconds: outageEnd - outageStart,
            outageDeliveredPercent: outageDelivered)
    }
}

extension ShardBench.Figures {
    /// The bench's lines: the shards' costs and deliveries, the queries, the outage.
    var lines: [String] {
        func each(_ format: String, _ value: (ShardBench.ShardFigures) -> Double) -> String {
            shards.map { String(format: format, value($0)) }.joined(separator: " / ")
        }
        let placement =
            missing == 0 && duplicated == 0 && misplaced == 0
            ? "every node on exactly its own shard"
            : "\(missing) nodes on no shard, \(duplicated) on several, \(misplaced) on a wrong one"
        let others = (0..<shards.count).filter { $0 != killed }
        let othersDelivered = others.map { String(format: "%.1f %%", outageDeliveredPercent[$0]) }
            .joined(separator: " / ")
        return [
            "shards, \(shards.count) shards x \(plugs) plugs: nodes \(shards.map { String($0.nodes) }.joined(separator: " / ")) "
                + "(\(placement)); ticks delivered \(each("%.2f %%", \.deliveredPercent)) over \(seconds) s; "
                + "CPU \(each("%.1f %%", \.cpuPercent)) of a core; resident "
                + "\(each("%.1f", { Double($0.residentBytes) / 1_048_576 })) MiB "
                + "(anonymous \(each("%.1f", { Double($0.anonymousBytes) / 1_048_576 })) MiB)",
            "shards, queries: \(queries / max(1, shards.count)) nodes asked of each of \(shards.count) shards, "
                + "\(answered) of \(queries) answered, \(differing) nodes with answers that differ between shards",
            "shards, shard \(killed) killed for \(String(format: "%.0f", downSeconds)) s and restarted: over the "
                + String(format: "%.0f s", outageSeconds) + " around it shard \(killed) stored "
                + String(format: "%.1f %%", outageDeliveredPercent[killed]) + " of its nodes' ticks, "
                + "the others \(othersDelivered.isEmpty ? "none" : othersDelivered)",
        ]
    }
}

import CurlClient
import EnergyModel
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `run --shard I/N`: shards of one configuration against simulated plugs, end to end.
@Suite("Shards end to end", .serialized)
struct ShardIntegrationTests {
    /// Plugs of the three-shard run: `ENERGY_MONITOR_SHARD_PLUGS` (3000 for the full-size
    /// run), else 300: three monitors of 1,000 plugs each and the simulator of 3,000 share the
    /// suite's two cores with everything else, and their first ticks then outlast any bound.
    static let plugs = ProcessInfo.processInfo.environment["ENERGY_MONITOR_SHARD_PLUGS"].flatMap { Int($0) } ?? 300

    @Test("bad shard options and settings end with one line each")
    func refusedOptions() async throws {
        let folder = try TestEnvironment.makeFolder("shard-options")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = folder + "/config.yaml"
        try
            "database: \(folder)/e.db\nlisten: 127.0.0.1:\(TestEnvironment.freePorts(1))\nplugs:\n  - {node: a, address: 127.0.0.1:9}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let cases: [([String], [String: String]?, String)] = [
            (["--shard", "3/3"], nil, "--shard: shard 3 does not exist: with 3 shards the index is 0...2"),
            (["--shard", "0/0"], nil, "--shard: the number of shards must be between 1 and 1024, not 0"),
            (["--shard", "one/3"], nil, "--shard: expected I/N (shard I of N, e.g. 0/3), not \"one/3\""),
            (["--shard", "0/3", "--shard-from-hostname", "3"], nil, "give --shard or --shard-from-hostname, not both"),
            (["--shard-from-hostname", "x"], nil, "--shard-from-hostname: expected the number of shards, not \"x\""),
            (["--peers", "http://a:1"], nil, "--peers needs --shard or --shard-from-hostname"),
            (["--shard", "0/2", "--peers", "http://a:1"], nil, "--shard: 1 URLs for 2 shards"),
            (
                ["--shard-from-hostname", "3"], ["HOSTNAME": "monitor"],
                "--shard-from-hostname: hostname \"monitor\" does not end in -<ordinal>"
            ),
            (
                ["--shard-from-hostname", "3"], ["HOSTNAME": "energy-monitor-3"],
                "--shard-from-hostname: shard 3 does not exist: with 3 shards the index is 0...2"
            ),
        ]
        for (arguments, environment, message) in cases {
            var env = ProcessInfo.processInfo.environment
            for (key, value) in environment ?? [:] { env[key] = value }
            let process = try ChildProcess(
                TestPaths.binary, ["run", "--config", config, "--duration", "5"] + arguments, in: folder, name: "run",
                environment: env)
            let status = await process.waitForExit(timeout: .seconds(30))
            #expect(status != nil && status != 0, "\(arguments): \(String(describing: status))")
            let lines = process.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(process.stderr)")
            #expect(process.stderr.contains(message), "\(arguments): \(process.stderr)")
        }
    }

    /// One shard's process and where it answers.
    struct Shard {
        var index: Int
        var process: ChildProcess
        var base: String
        var arguments: [String]
    }

    /// GET with the marker another shard sets.
    static func forwardedGet(_ url: String) async -> HTTPResponse? {
        try? await TestEnvironment.client.perform(
            HTTPRequest(url: url, headers: ["X-Energy-Monitor-Forwarded: 1"], timeoutMilliseconds: 10_000))
    }

    static func get(_ url: String) async -> (status: Int, body: String)? {
        guard let response = await TestEnvironment.get(url, timeoutMilliseconds: 150_000) else { return nil }
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// The nodes of `node="..."` series in a shard's `/metrics`, with each series line.
    static func nodeSeries(_ text: String) -> (nodes: Set<String>, series: [String: String]) {
        var nodes: Set<String> = []
        var series: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let match = line.firstMatch(of: /node="([^"]+)"/) else { continue }
            let name = String(match.output.1)
            if line.hasPrefix("energy_monitor_plug_up{") { nodes.insert(name) }
            let key = String(line[..<(line.lastIndex(of: " ") ?? line.endIndex)])
            series[key] = name
        }
        return (nodes, series)
    }

    /// Waits until every node of `shards` has a stored sample at or after `milliseconds`
    /// (each shard's `/api/v1/nodes`): the stores hold everything before it.
    static func stored(_ shards: [Shard], after milliseconds: Int64) async -> Bool {
        await eventually(within: .seconds(240), every: .milliseconds(500)) {
            for shard in shards {
                guard
                    let response = await TestEnvironment.get(shard.base + "/api/v1/nodes", timeoutMilliseconds: 60_000),
                    response.status == 200,
                    let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                    let nodes = object["nodes"] as? [[String: Any]], !nodes.isEmpty
                else { return false }
                for node in nodes {
                    guard let last = (node["lastSample"] as? NSNumber)?.int64Value, last >= milliseconds else {
                        return false
                    }
                }
            }
            return true
        }
    }

    static func seconds(_ milliseconds: Int64) -> String { String(format: "%.3f", Double(milliseconds) / 1000) }

    @Test(
        "three shards: every node polled by one; every query answered from any shard; a killed shard loses only its own ticks"
    )
    func threeShards() async throws {
        let plugs = Self.plugs
        let folder = try TestEnvironment.makeFolder("shards")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listen = (0..<3).map { _ in TestEnvironment.freePorts(1) }
        // A block of free ports can be taken by another test before the simulator binds it:
        // then another block, as bench does.
        var started: ChildProcess?
        var written = false
        for attempt in 1...4 where !written {
            let port = TestEnvironment.freePorts(plugs)
            let candidate = try ChildProcess(
                TestPaths.binary,
                [
                    "simulate", "--plugs", "\(plugs)", "--port", "\(port)", "--generations", "1,2", "--profiles",
                    "flat", "--write-config", folder + "/config.yaml",
                ], in: folder, name: "simulate-\(attempt)")
            written = await eventually(within: .seconds(120)) {
                candidate.stdout.contains("simulating") || !candidate.isRunning
            }
            written = written && candidate.isRunning && candidate.stdout.contains("simulating")
            if !written { candidate.stop() }
            started = candidate
        }
        let simulator = try #require(started)
        defer { simulator.end() }
        try #require(written, "simulator: \(simulator.stderr.suffix(1500))")
        let peers = listen.map { "http://127.0.0.1:\($0)" }.joined(separator: ",")
        let template = try String(contentsOfFile: folder + "/config.yaml", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("database:") && !$0.hasPrefix("listen:") }.joined(separator: "\n")
        // Shard 0 from the configuration file's `shards:`, shard 1 from `--shard`, shard 2 from
        // its host name as a StatefulSet pod's.
        var shards: [Shard] = []
        for index in 0..<3 {
            var config = "database: \(folder)/shard-\(index).db\nlisten: 127.0.0.1:\(listen[index])\n" + template
            var arguments = ["run", "--config", folder + "/shard-\(index).yaml"]
            var environment = ProcessInfo.processInfo.environment
            switch index {
            case 0: config += "\nshards:\n  count: 3\n  index: 0\n  peers: \"\(peers)\"\n"
            case 1: arguments += ["--shard", "1/3", "--peers", peers]
            default:
                arguments += ["--shard-from-hostname", "3", "--peers", peers]
                environment["HOSTNAME"] = "energy-monitor-2"
            }
            try config.write(toFile: folder + "/shard-\(index).yaml", atomically: true, encoding: .utf8)
            let process = try ChildProcess(
                TestPaths.binary, arguments, in: folder, name: "shard-\(index)", environment: environment)
            shards.append(
                Shard(index: index, process: process, base: "http://127.0.0.1:\(listen[index])", arguments: arguments))
        }
        defer { for shard in shards { shard.process.end() } }
        for shard in shards {
            let ready = await eventually(within: .seconds(180), every: .milliseconds(500)) {
                await TestEnvironment.get(shard.base + "/readyz")?.status == 200
            }
            try #require(ready, "shard \(shard.index) not ready: \(shard.process.stderr.suffix(1500))")
        }
        let names = (0..<plugs).map { "sim-\($0)" }
        let owner = Dictionary(uniqueKeysWithValues: names.map { ($0, ShardAssignment.owner(of: $0, count: 3)) })

        // Every node on the metrics of exactly its owner, none twice, none missing.
        var perShard: [Set<String>] = []
        var allSeries: [String: Int] = [:]
        for shard in shards {
            let (nodes, series) = Self.nodeSeries(await TestEnvironment.getText(shard.base + "/metrics"))
            perShard.append(nodes)
            for (key, node) in series {
                #expect(owner[node] == shard.index, "shard \(shard.index) exports \(key)")
                #expect(allSeries[key] == nil, "\(key) on shards \(allSeries[key] ?? -1) and \(shard.index)")
                allSeries[key] = shard.index
            }
        }
        print("shards: nodes per shard for \(plugs) plugs: \(perShard.map(\.count))")
        #expect(perShard.map(\.count).reduce(0, +) == plugs)
        #expect(perShard.reduce(Set<String>()) { $0.union($1) } == Set(names))
        for index in 0..<3 {
            #expect(perShard[index] == Set(names.filter { owner[$0] == index }))
        }

        // A window every shard has stored: answers for it no longer change.
        let start = WallClock.nowMilliseconds()
        let from = start + 1000
        let to = start + 6000
        let settled = await Self.stored(shards, after: to + 1000)
        try #require(settled, "the shards did not store the window")
        let window = "from=\(Self.seconds(from))&to=\(Self.seconds(to))"
        var sample: [String] = []
        for shard in 0..<3 { sample += names.filter { owner[$0] == shard }.prefix(4) }
        for node in sample {
            var energies: [String] = []
            var powers: [String] = []
            for shard in shards {
                let energy = try #require(await Self.get(shard.base + "/api/v1/energy?node=\(node)&\(window)"))
                #expect(energy.status == 200, "\(node) from shard \(shard.index): \(energy.body)")
                energies.append(energy.body)
                let power = try #require(await Self.get(shard.base + "/api/v1/power?node=\(node)&\(window)&step=1"))
                #expect(power.status == 200, "\(node) from shard \(shard.index): \(power.body)")
                powers.append(power.body)
            }
            #expect(Set(energies).count == 1, "\(node): \(energies)")
            #expect(Set(powers).count == 1, "\(node): \(powers)")
            #expect(energies[0].contains("\"node\":\"\(node)\"") && energies[0].contains("\"samples\":"))
        }
        // A query of nodes of every shard: the owners' answers, in the order asked.
        let mixed = [sample[8], sample[0], sample[4], sample[1]]
        var single: [String] = []
        for node in mixed {
            let base = shards[owner[node] ?? 0].base
            let answer = try #require(await Self.get(base + "/api/v1/energy?node=\(node)&\(window)"))
            single.append(String(answer.body.dropFirst().dropLast()))
        }
        let expectedMixed = "[" + single.joined(separator: ",") + "]"
        var everyNode: Set<String> = []
        var everySeries: Set<String> = []
        for shard in shards {
            let answer = try #require(
                await Self.get(shard.base + "/api/v1/energy?node=\(mixed.joined(separator: ","))&\(window)"))
            #expect(answer.body == expectedMixed, "shard \(shard.index)")
            let all = try #require(await Self.get(shard.base + "/api/v1/energy?\(window)"))
            #expect(all.status == 200)
            everyNode.insert(all.body)
            let series = try #require(await Self.get(shard.base + "/api/v1/power?\(window)&step=5"))
            #expect(series.status == 200)
            everySeries.insert(series.body)
        }
        #expect(everyNode.count == 1, "the all-node energy answers differ between shards")
        #expect(everySeries.count == 1, "the all-node power answers differ between shards")
        let allNodes = try #require(
            try JSONSerialization.jsonObject(with: Data((everyNode.first ?? "").utf8)) as? [[String: Any]])
        let listed = allNodes.compactMap { $0["node"] as? String }
        #expect(listed == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(everySeries.first?.components(separatedBy: "\"node\":").count == plugs + 1)

        // Forwarded requests are answered from the local store only: never forwarded again.
        let foreign = try #require(names.first { owner[$0] == 1 })
        let local = await Self.forwardedGet(shards[0].base + "/api/v1/energy?node=\(foreign)&\(window)")
        #expect(local?.status == 400, "a forwarded query for another shard's node must not be forwarded again")

        // Shard 1 killed: its nodes' queries fail at once with 502 naming it; the others answer.
        kill(shards[1].process.pid, SIGKILL)
        shards[1].process.process.waitUntilExit()
        let killedAt = WallClock.nowMilliseconds()
        let down = try #require(await Self.get(shards[0].base + "/api/v1/energy?node=\(foreign)&\(window)"))
        #expect(down.status == 502, "\(down.body)")
        #expect(down.body.contains("\"shard\":1") && down.body.contains("shard 1 (http://127.0.0.1:"), "\(down.body)")
        let power = try #require(await Self.get(shards[2].base + "/api/v1/power?node=\(foreign)&\(window)&step=1"))
        #expect(power.status == 502, "\(power.body)")
        let alive = try #require(names.first { owner[$0] == 2 })
        #expect(await Self.get(shards[0].base + "/api/v1/energy?node=\(alive)&\(window)")?.status == 200)
        // Down for at least 5 s of ticks, then back on its own store.
        let gapEnd = killedAt + 5000
        _ = await eventually(within: .seconds(30), every: .milliseconds(200)) { WallClock.nowMilliseconds() > gapEnd }
        shards[1].process = try ChildProcess(
            TestPaths.binary, shards[1].arguments, in: folder, name: "shard-1-restarted")
        let back = await eventually(within: .seconds(180), every: .milliseconds(500)) {
            await TestEnvironment.get(shards[1].base + "/readyz")?.status == 200
        }
        try #require(back, "shard 1 not ready again: \(shards[1].process.stderr.suffix(1500))")
        let restartedAt = WallClock.nowMilliseconds()
        let caughtUp = await Self.stored(shards, after: restartedAt + 1000)
        try #require(caughtUp, "the shards did not store the ticks after the restart")
        let outage = "from=\(Self.seconds(killedAt - 1000))&to=\(Self.seconds(restartedAt))"
        let report = try #require(await Self.get(shards[2].base + "/api/v1/energy?\(outage)"))
        #expect(report.status == 200, "\(report.body)")
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(report.body.utf8)) as? [[String: Any]])
        #expect(entries.count == plugs)
        var ownGaps = 0
        for entry in entries {
            let node = try #require(entry["node"] as? String)
            let coverage = try #require(entry["coveragePercent"] as? Double)
            if owner[node] == 1 {
                // At least the 5 s it was down are missing from its samples.
                if coverage < 100 - 5000 * 100 / Double(restartedAt - killedAt + 1000) + 1 { ownGaps += 1 }
            } else {
                #expect(coverage > 99, "\(node) of shard \(owner[node] ?? -1) has a gap: \(entry)")
            }
        }
        #expect(ownGaps == names.filter { owner[$0] == 1 }.count, "shard 1's nodes lost the ticks it was down")
        for shard in shards {
            #expect(shard.process.isRunning, "shard \(shard.index): \(shard.process.stderr.suffix(800))")
        }
    }
}

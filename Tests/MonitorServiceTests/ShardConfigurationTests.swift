import EnergyModel
import Foundation
import ShellyPoller
import Testing

@testable import MonitorService

@Suite("Shard configuration")
struct ShardConfigurationTests {
    static let plugs = (0..<30).map { "  - {node: sim-\($0), address: \"127.0.0.1:\(20000 + $0)\"}" }
        .joined(separator: "\n")

    static func parse(_ shards: String) throws -> MonitorConfiguration {
        try MonitorConfiguration.parse(yaml: "plugs:\n\(plugs)\n\(shards)", baseDirectory: "/tmp")
    }

    @Test("shards: count, index and peers (a pattern or a list); written back the same")
    func parses() throws {
        let pattern = try Self.parse(
            "shards:\n  count: 3\n  index: 1\n  peers: \"http://energy-monitor-{i}.energy-monitor-shards:9840\"\n")
        #expect(pattern.shards?.count == 3)
        #expect(pattern.shards?.index == .fixed(1))
        #expect(pattern.shards?.peers.last == "http://energy-monitor-2.energy-monitor-shards:9840")
        let list = try Self.parse("shards: {count: 2, peers: [\"http://a:1\", \"http://b:2/\"]}\n")
        #expect(list.shards == ShardSettings(count: 2, index: .hostname, peers: ["http://a:1", "http://b:2"]))
        #expect(try list.shards?.assignment(hostname: "energy-monitor-1") == ShardAssignment(index: 1, count: 2))
        for configuration in [pattern, list] {
            let again = try MonitorConfiguration.parse(yaml: configuration.yaml(), baseDirectory: "/tmp")
            #expect(again == configuration)
        }
        #expect(try Self.parse("").shards == nil)
    }

    @Test("bad shard settings are refused with their key path, in one line")
    func refused() throws {
        let cases: [(String, String)] = [
            ("shards: {count: 0}", "shards.count"),
            ("shards: {count: 3, index: 3}", "shards.index"),
            ("shards: {index: 1}", "shards.count: missing"),
            ("shards: {count: two}", "shards.count"),
            ("shards: {count: 2, peers: \"http://a:1\"}", "shards.peers: 1 URLs for 2 shards"),
            ("shards: {count: 1, peers: [\"ftp://a\"]}", "shards.peers: entry 0: expected http://host:port"),
            ("shards: {count: 1, replicas: 2}", "shards.replicas"),
        ]
        for (yaml, message) in cases {
            do {
                _ = try Self.parse(yaml + "\n")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect("\(error)".contains(message), "\(yaml): \(error)")
                #expect(!"\(error)".contains("\n"), "\(error)")
            }
        }
    }

    @Test("a shard's configuration has its own nodes only; the shards together have every node once")
    func localConfigurations() throws {
        var configuration = try Self.parse("shards: {count: 3}\n")
        configuration.kubernetes.podEnergy.staticWatts = ["sim-0": 10, "sim-1": 20, "sim-2": 30]
        var seen: [String] = []
        for index in 0..<3 {
            let local = configuration.shardLocal(try ShardAssignment(index: index, count: 3))
            #expect(!local.plugs.isEmpty)
            #expect(local.plugs.allSatisfy { ShardAssignment.owner(of: $0.node, count: 3) == index })
            #expect(Set(local.kubernetes.podEnergy.staticWatts.keys).isSubset(of: Set(local.nodes)))
            #expect(local.database == configuration.database)
            seen += local.nodes
        }
        #expect(seen.sorted() == configuration.nodes.sorted())
    }
}

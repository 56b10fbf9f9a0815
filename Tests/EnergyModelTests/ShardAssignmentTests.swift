import Testing

@testable import EnergyModel

@Suite("Shard assignment")
struct ShardAssignmentTests {
    /// 3,000 node names as the simulator names its plugs.
    static let names = (0..<3000).map { "sim-\($0)" }

    @Test("owners are fixed by the definition: the same on every run and in every process")
    func stableOwners() {
        // Computed by a separate implementation of the definition (FNV-1a 64 of the name,
        // SplitMix64's finalizer of it with the golden-ratio multiple of index + 1, highest wins).
        let expected: [String: [Int]] = [
            "tvpc": [0, 1, 1, 3, 3], "wyse": [0, 1, 2, 2, 2], "rpi": [0, 0, 0, 0, 0], "sim-0": [0, 0, 2, 2, 2],
            "sim-1": [0, 1, 2, 2, 2], "sim-2999": [0, 1, 2, 2, 2], "node-a.example.com": [0, 0, 2, 3, 3],
        ]
        for (name, owners) in expected {
            #expect((1...5).map { ShardAssignment.owner(of: name, count: $0) } == owners, "\(name)")
        }
        #expect(ShardAssignment.nameHash("") == 0xcbf2_9ce4_8422_2325)
        #expect(ShardAssignment.nameHash("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test("3,000 nodes spread evenly over 3 shards, each node owned by exactly one")
    func balance() throws {
        for count in [2, 3, 4, 7] {
            var perShard = [Int](repeating: 0, count: count)
            for name in Self.names {
                let owners = try (0..<count).filter { try ShardAssignment(index: $0, count: count).owns(name) }
                #expect(owners.count == 1, "\(name) owned by \(owners)")
                perShard[owners.first ?? 0] += 1
            }
            let fair = Double(Self.names.count) / Double(count)
            for nodes in perShard {
                #expect(abs(Double(nodes) - fair) < 0.1 * fair, "\(count) shards: \(perShard)")
            }
            if count == 3 { #expect(perShard == [1002, 1013, 985]) }
        }
    }

    @Test("N -> N+1 shards moves about 1/(N+1) of the nodes, every one of them to the new shard")
    func addingAShardMovesItsShare() {
        for count in 1...8 {
            var moved = 0
            for name in Self.names {
                let before = ShardAssignment.owner(of: name, count: count)
                let after = ShardAssignment.owner(of: name, count: count + 1)
                guard before != after else { continue }
                moved += 1
                #expect(after == count, "\(name) moved from \(before) to \(after), not to the new shard")
            }
            let fraction = Double(moved) / Double(Self.names.count)
            let share = 1 / Double(count + 1)
            #expect(abs(fraction - share) < 0.2 * share, "\(count) -> \(count + 1): moved \(fraction)")
            if count == 3 { #expect(moved == 755) }
        }
    }

    @Test("I/N is read strictly, with one-line errors")
    func parsing() throws {
        let shard = try ShardAssignment(parsing: "2/3")
        #expect(shard.index == 2 && shard.count == 3 && shard.description == "2/3")
        #expect(try ShardAssignment(parsing: "0/1").owns("anything"))
        let refused: [(String, String)] = [
            ("3/3", "shard 3 does not exist: with 3 shards the index is 0...2"),
            ("0/0", "the number of shards must be between 1 and 1024, not 0"),
            ("0/2000", "the number of shards must be between 1 and 1024, not 2000"),
            ("a/3", "expected I/N (shard I of N, e.g. 0/3), not \"a/3\""),
            ("-1/3", "expected I/N"), ("1/", "expected I/N"), (" 1/3", "expected I/N"), ("1/3/4", "expected I/N"),
            ("", "expected I/N"), ("99999999999999999999/3", "expected I/N"), ("1\n/3", "not \"1 /3\""),
        ]
        for (text, message) in refused {
            #expect(throws: ShardError.self, "\(text)") { try ShardAssignment(parsing: text) }
            do {
                _ = try ShardAssignment(parsing: text)
            } catch {
                #expect(error.description.contains(message), "\(text): \(error)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test("a StatefulSet pod's name gives its ordinal")
    func hostnameOrdinal() throws {
        #expect(try ShardAssignment.ordinal(ofHostname: "energy-monitor-2") == 2)
        #expect(try ShardAssignment.ordinal(ofHostname: "energy-monitor-0.energy-monitor-shards.energy-monitor") == 0)
        #expect(try ShardAssignment(hostname: "energy-monitor-1", count: 3) == ShardAssignment(index: 1, count: 3))
        for hostname in ["energy-monitor", "energy-monitor-", "monitor-x2", "", "monitor-+1"] {
            #expect(throws: ShardError.self, "\(hostname)") { try ShardAssignment.ordinal(ofHostname: hostname) }
        }
        do {
            _ = try ShardAssignment(hostname: "energy-monitor-3", count: 3)
            Issue.record("ordinal 3 of 3 shards accepted")
        } catch {
            #expect(error.description == "shard 3 does not exist: with 3 shards the index is 0...2")
        }
    }

    @Test("peers: a pattern with {i}, or one URL per shard")
    func peers() throws {
        #expect(
            try ShardPeers.expand("http://energy-monitor-{i}.energy-monitor-shards:9840/", count: 3) == [
                "http://energy-monitor-0.energy-monitor-shards:9840",
                "http://energy-monitor-1.energy-monitor-shards:9840",
                "http://energy-monitor-2.energy-monitor-shards:9840",
            ])
        #expect(
            try ShardPeers.expand("http://127.0.0.1:1, http://[::1]:2", count: 2) == [
                "http://127.0.0.1:1", "http://[::1]:2",
            ])
        let refused: [(String, Int, String)] = [
            ("http://a:1,http://b:2", 3, "2 URLs for 3 shards"),
            ("ftp://a:1", 1, "entry 0: expected http://host:port, not \"ftp://a:1\""),
            ("http://a:1/path", 1, "entry 0: expected http://host:port"),
            ("http://a:1,", 2, "entry 1: expected http://host:port"),
            ("http://a b:1", 1, "expected http://host:port"),
        ]
        for (text, count, message) in refused {
            do {
                _ = try ShardPeers.expand(text, count: count)
                Issue.record("\(text) accepted")
            } catch {
                #expect(error.description.contains(message), "\(text): \(error)")
            }
        }
    }
}

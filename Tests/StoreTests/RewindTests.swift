import EnergyModel
import Foundation
import Store
import TestSupport
import Testing

/// `rewind(toMilliseconds:)`: what a clock that was ahead stamped is forgotten, the store then
/// takes new samples of the same times without a second row or a second chunk.
@Suite("Store rewind")
struct RewindTests {
    static func samples(_ node: String, from: Int64, count: Int, watts: Double) -> [Sample] {
        (0..<count).map {
            Sample(node: node, timestampMilliseconds: from + Int64($0) * 1000, reading: Reading(watts: watts))
        }
    }

    @Test(
        "samples from the mark on are forgotten, packed or not; those before it stay; the same times stored again once")
    func rewindThenRewrite() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("energy.db")
        let store = try EnergyStore(path: path)
        let minute: Int64 = 1_800_000_000_000 / 60_000 * 60_000
        // Three minutes of two nodes, a tick at a time: the first two minutes get packed.
        for second in 0..<180 {
            let time = minute + Int64(second) * 1000
            try await store.write(
                samples: [
                    Sample(node: "a", timestampMilliseconds: time, reading: Reading(watts: 10)),
                    Sample(node: "b", timestampMilliseconds: time + 7, reading: Reading(watts: 20)),
                ], counters: [:])
        }
        let mark = minute + 90_000  // half way through the second minute (packed)
        let rewound = try await store.rewind(toMilliseconds: mark)
        #expect(rewound.samples == 2 * 90)
        #expect(rewound.newestMilliseconds == minute + 179_007)
        let left = try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: .max)
        #expect(left.count == 90 && left.last?.timestampMilliseconds == mark - 1000)
        // The same times again, other watts: one row each, and the minutes pack once each.
        for second in 90..<200 {
            let time = minute + Int64(second) * 1000
            try await store.write(
                samples: [Sample(node: "a", timestampMilliseconds: time, reading: Reading(watts: 30))], counters: [:])
        }
        let again = try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: .max)
        #expect(again.count == 200)
        #expect(Set(again.map(\.timestampMilliseconds)).count == 200)
        #expect(again.filter { $0.timestampMilliseconds >= mark }.allSatisfy { $0.reading.watts == 30 })
        store.close()
        let chunks = try await sqliteRows(
            path, "SELECT count(*) FROM (SELECT node_id, start_ms / 60000 FROM chunk GROUP BY 1, 2 HAVING count(*) > 1)"
        )
        #expect(chunks.first?.first == "0")
        let integrity = try await sqliteRows(path, "PRAGMA integrity_check")
        #expect(integrity.first?.first == "ok")
    }

    @Test("a rewind with nothing at or after the mark changes nothing")
    func nothingToForget() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("energy.db"))
        defer { store.close() }
        try await store.write(samples: Self.samples("a", from: 1_800_000_000_000, count: 5, watts: 5), counters: [:])
        let rewound = try await store.rewind(toMilliseconds: 1_800_000_010_000)
        #expect(rewound == EnergyStore.Rewind(samples: 0, newestMilliseconds: nil))
        #expect(try await store.samples(node: "a", fromMilliseconds: 0, toMilliseconds: .max).count == 5)
    }
}

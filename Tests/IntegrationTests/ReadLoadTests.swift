import CurlClient
import EnergyModel
import Foundation
import Store
import TestSupport
import Testing

/// Heavy dashboard reads against the running service: ten clients asking `/api/v1/power`
/// for every stored day in a loop. Correctness only (the figures are `bench --read-load`'s):
/// every answer is right, `/readyz` keeps answering, no tick is lost.
@Suite("Heavy reads end to end", .serialized)
struct ReadLoadTests {
    static let days = 2
    /// The stored watts of each node before the service starts: constant, so answers are known.
    static let storedWatts: [String: Double] = ["sim-0": 10, "sim-1": 20.5]

    @Test(
        "ten clients reading two days of /api/v1/power in a loop: right answers, /readyz answers 200, every tick stored"
    )
    func heavyReads() async throws {
        let folder = try TestEnvironment.makeFolder("read-load")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        let filledUntil = Int64(Date().timeIntervalSince1970) * 1000
        do {
            let store = try EnergyStore(path: database)
            let start = filledUntil - Int64(Self.days) * 86_400_000
            for hour in 0..<(Self.days * 24) {
                var samples: [Sample] = []
                for second in 0..<3600 {
                    let time = start + Int64(hour * 3600 + second) * 1000 + Int64(second % 17)
                    for (node, watts) in Self.storedWatts {
                        samples.append(Sample(node: node, timestampMilliseconds: time, reading: Reading(watts: watts)))
                    }
                }
                try await store.write(samples: samples, counters: [:])
            }
            store.close()
        }
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: database, extra: ["--generations", "1,2"])
        defer { service.stop() }

        let loadFrom = Date().timeIntervalSince1970
        let deadline = ContinuousClock.now + .seconds(8)
        let steps = ["", "1h", "10m", "1m"]
        let readers = (0..<10).map { index in
            Task { () -> (answers: Int, wrong: [String]) in
                var answers = 0
                var wrong: [String] = []
                var round = index
                while ContinuousClock.now < deadline {
                    let step = steps[round % steps.count]
                    round += 1
                    let url =
                        service.base + "/api/v1/power?from=now-\(Self.days)d" + (step.isEmpty ? "" : "&step=\(step)")
                    let response = await TestEnvironment.get(url, timeoutMilliseconds: 60_000)
                    let answeredAt = Int64(Date().timeIntervalSince1970 * 1000)
                    if let problem = Self.check(response, step: step, filledUntil: filledUntil, answeredAt: answeredAt)
                    {
                        wrong.append(problem)
                    } else {
                        answers += 1
                    }
                }
                return (answers, wrong)
            }
        }
        // Meanwhile /readyz, five times a second.
        var readyz: [Int?] = []
        while ContinuousClock.now < deadline {
            readyz.append(await TestEnvironment.get(service.base + "/readyz", timeoutMilliseconds: 10_000)?.status)
            try await Task.sleep(for: .milliseconds(200))
        }
        var answers = 0
        var wrong: [String] = []
        for reader in readers {
            let result = await reader.value
            answers += result.answers
            wrong += result.wrong
        }
        let loadUntil = Date().timeIntervalSince1970
        #expect(answers >= 10, "\(answers) answers")
        #expect(wrong.isEmpty, "\(wrong.count) wrong answers, e.g. \(wrong.prefix(3))")
        #expect(!readyz.isEmpty && readyz.allSatisfy { $0 == 200 }, "/readyz: \(readyz)")
        try await Task.sleep(for: .seconds(2))
        service.monitor.stop()

        // Every tick of the load was stored: no gap in either node's series.
        for (node, series) in try await FaultIntegrationTests.timestamps(database) {
            let live = series.filter { $0 >= loadFrom - 1 }
            let gaps = zip(live, live.dropFirst()).filter { $1 - $0 > 2 }
            #expect(gaps.isEmpty, "\(node): gaps \(gaps)")
            #expect(
                (live.first ?? .infinity) < loadFrom + 2 && (live.last ?? 0) > loadUntil,
                "\(node): \(live.first ?? 0)...\(live.last ?? 0)")
        }
    }

    /// Nil when `response` is a right answer for the stored data, else what is wrong. Steps
    /// that end before the service started hold only the stored constant watts. The window
    /// starts `days` before the service's now, which is before `answeredAt`: the longer
    /// filling and starting took on a busy machine, the fewer of the stored steps it holds.
    static func check(_ response: HTTPResponse?, step: String, filledUntil: Int64, answeredAt: Int64) -> String? {
        guard let response else { return "no answer" }
        guard response.status == 200 else { return "HTTP \(response.status)" }
        struct Answer: Decodable {
            struct Series: Decodable {
                var node: String
                var points: [[Double]]
            }
            var step: Int64
            var series: [Series]
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)) else {
            return "not the API's JSON"
        }
        guard Set(answer.series.map(\.node)) == Set(storedWatts.keys) else {
            return "nodes \(answer.series.map(\.node))"
        }
        for series in answer.series {
            let stored = series.points.filter { ($0.first ?? 0) + Double(answer.step) <= Double(filledUntil - 1000) }
            let storedSpan = filledUntil - (answeredAt - Int64(days) * 86_400_000)
            guard stored.count >= Int(storedSpan / answer.step) - 2 else {
                return "step \(step): \(series.node) has \(stored.count) stored points"
            }
            if let bad = stored.first(where: { $0.count != 2 || $0[1] != storedWatts[series.node] }) {
                return "step \(step): \(series.node) point \(bad)"
            }
        }
        return nil
    }
}

import CurlClient
import EnergyModel
import Foundation
import Logging
import ShellySimulator
import Testing
import TestSupport

@testable import ShellyPoller

/// A node with several meters: their readings of one tick are summed, or the tick is a gap.
@Suite("Nodes with several meters", .serialized)
struct NodeMetersTests {
    static let client = CurlMultiClient()

    @Test("two power supplies of one node: the sample is the sum of the meters read in the same tick")
    func sum() async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "psu-a", port: 0, generation: 2, profile: .tvpc),
            .init(node: "psu-b", port: 0, generation: 1, profile: .wyse),
            .init(node: "solo", port: 0, generation: 3, profile: .rpi),
        ])
        func meter(_ name: String, _ plug: String) -> PlugConfiguration {
            var configuration = PlugConfiguration(node: "tvpc", baseURL: "http://127.0.0.1:\(simulator.port(of: plug) ?? 1)")
            configuration.meter = name
            return configuration
        }
        // A 5 s interval (4 s timeout): the verdict is about the sum, not about time.
        let loop = PollLoop(
            plugs: [meter("a", "psu-a"), meter("b", "psu-b"), PlugConfiguration(node: "rpi", baseURL: "http://127.0.0.1:\(simulator.port(of: "solo") ?? 1)")],
            intervalMilliseconds: 5000, client: Self.client, logger: Logger(label: "test"))
        // Ticks until one in which both meters answered (a loaded machine may cost a meter its
        // answer: that tick is a gap, checked as such); the first tick also detects.
        var complete: (outcomes: [PlugOutcome], served: [SimulatedPlug.ServedReading])?
        var gaps = 0
        for _ in 0..<10 where complete == nil {
            let outcomes = await loop.pollAll()
            #expect(outcomes.map(\.node) == ["tvpc", "rpi"])
            guard outcomes.count == 2 else { break }
            if case .failure(let failure) = outcomes[0].result {
                // A gap names the meter that failed, and the meters' readings show which one.
                gaps += 1
                #expect(failure.reason == .timeout && failure.message.hasPrefix("meter "), "\(failure)")
                #expect(outcomes[0].meters.map(\.meter) == ["a", "b"] && outcomes[0].meters.contains { $0.watts == nil })
            } else {
                complete = (outcomes, simulator.servedReadings())
            }
        }
        await simulator.shutdown()
        let (outcomes, served) = try #require(complete, "no tick with both meters in 10 ticks")
        print("two meters: \(gaps) gap(s) before a tick with both")
        let tvpc = try outcomes[0].result.get()
        let a = try #require(served.last { $0.node == "psu-a" }?.watts)
        let b = try #require(served.last { $0.node == "psu-b" }?.watts)
        #expect(abs(tvpc.reading.watts - (a + b)) < 1e-9, "\(tvpc.reading.watts) vs \(a) + \(b)")
        #expect(outcomes[0].meters == [MeterReading(meter: "a", watts: a), MeterReading(meter: "b", watts: b)])
        #expect(tvpc.reading.energyWattHours != nil, "both meters count energy")
        #expect(outcomes[1].meters.isEmpty)
    }

    @Test("a meter without a sample makes the node's tick a gap, never a partial sum")
    func gap() {
        let sample = Sample(node: "tvpc", timestampMilliseconds: 1000, reading: Reading(watts: 40, volts: 230))
        let ok = PlugOutcome(node: "tvpc", result: .success(sample), durationSeconds: 0.01)
        let failed = PlugOutcome(node: "tvpc", result: .failure(PollFailure(.timeout, "no answer")), durationSeconds: 0.8)
        let combined = PlugOutcome.combine(node: "tvpc", meters: [("a", ok), ("b", failed)])
        guard case .failure(let failure) = combined.result else { Issue.record("a partial sum"); return }
        #expect(failure.reason == .timeout && failure.message == "meter b: no answer")
        #expect(combined.meters == [MeterReading(meter: "a", watts: 40), MeterReading(meter: "b", watts: nil)])
        #expect(combined.durationSeconds == 0.8)
        let both = PlugOutcome.combine(
            node: "tvpc", meters: [("a", ok), ("b", PlugOutcome(node: "tvpc", result: .success(Sample(node: "tvpc", timestampMilliseconds: 1100, reading: Reading(watts: 2))), durationSeconds: 0.02))])
        let reading = try? both.result.get()
        #expect(reading?.reading.watts == 42 && reading?.reading.volts == nil && reading?.timestampMilliseconds == 1050)
    }
}

import CurlClient
import Logging
import ShellySimulator
import TestSupport
import Testing

@testable import ShellyPoller

/// Detection (`/shelly`) is not repeated every tick for a plug whose status keeps failing.
@Suite("Plug detection")
struct DetectionTests {
    static let client = CurlMultiClient()

    @Test("a Gen2+ plug whose status always fails is asked /shelly once, not every poll, and logged as detected once")
    func detectionNotRepeated() async throws {
        let simulator = try await ShellySimulator.start(plugs: [
            .init(node: "cut", port: 0, generation: 2, profile: .wyse, fault: .truncated)
        ])
        defer { Task { await simulator.shutdown() } }
        let log = LogRecorder()
        var plug = PlugConfiguration(node: "cut", baseURL: "http://127.0.0.1:\(simulator.port(of: "cut") ?? 0)")
        plug.transport = .http
        let session = PlugSession(plug: plug, client: Self.client, logger: Logger(label: "test") { _ in log })
        let polls = 15
        var failures = 0
        for _ in 0..<polls {
            let outcome = await session.poll(timeoutMilliseconds: 10_000)
            if case .failure = outcome.result { failures += 1 }
        }
        #expect(failures == polls, "the truncated status was accepted")
        // One /shelly and one status request per poll would be 30; the status alone is 15, and
        // /shelly comes once (at most once more after the run of failures, a minute apart).
        let requests = simulator.statistics()["cut"]?.requests ?? 0
        #expect(requests <= polls + 1, "\(requests) requests for \(polls) polls")
        let detections = log.entries.filter { $0.message == "detected plug" }.count
        #expect(detections == 1, "\(detections) detection lines")
    }
}

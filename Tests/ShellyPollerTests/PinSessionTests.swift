import CurlClient
import EnergyModel
import Foundation
import Logging
import ShellySimulator
import Synchronization
import TestSupport
import Testing

@testable import ShellyPoller

/// Pinned credentials in a plug's session against simulated devices: a stored pin is honoured
/// from the first poll, new pins are reported once, a device of another family or identity gets
/// no credentials at all, and clearing the pin lets the plug be detected afresh.
@Suite("Pinned credentials in a session", .serialized)
struct PinSessionTests {
    static let client = CurlMultiClient()

    static func start(_ specifications: [SimulatedPlug.Specification]) async throws -> ShellySimulator {
        try await ShellySimulator.start(plugs: specifications, configuration: .init(firmware: 2))
    }

    static func plug(_ simulator: ShellySimulator, _ node: String, generation: GenerationSetting = .auto)
        -> PlugConfiguration
    {
        PlugConfiguration(
            node: "tvpc", baseURL: "http://127.0.0.1:\(simulator.port(of: node) ?? 1)", generation: generation,
            password: "pw", transport: .http)
    }

    /// The pin a genuine Gen2 plug of `node` gets.
    static func pin(of plug: SimulatedPlug, node: String = "tvpc") -> PlugPin {
        PlugPin(node: node, family: .rpc, deviceID: plug.deviceID, mac: plug.mac, firstSeenMilliseconds: 1)
    }

    /// Pins a session reported.
    final class Reported: Sendable {
        let pins = Mutex<[PlugPin]>([])
        var all: [PlugPin] { pins.withLock { $0 } }
        func record(_ pin: PlugPin) { pins.withLock { $0.append(pin) } }
    }

    /// The failure reason of each of `polls` polls (nil: a sample). A loaded machine may let a
    /// poll time out; the assertions allow for that and never for another reason.
    static func reasons(_ session: PlugSession, polls: Int) async -> [PollErrorReason?] {
        var reasons: [PollErrorReason?] = []
        for _ in 0..<polls {
            let outcome = await session.poll(timeoutMilliseconds: 10_000)
            if case .failure(let failure) = outcome.result {
                reasons.append(failure.reason)
            } else {
                reasons.append(nil)
            }
        }
        return reasons
    }

    @Test("a new plug is pinned once, with the id and MAC its /shelly reports; a stored pin is not reported again")
    func pinsOnce() async throws {
        let simulator = try await Self.start([
            .init(node: "genuine", port: 0, generation: 2, profile: .tvpc, password: "pw")
        ])
        let device = try #require(simulator.plug(of: "genuine"))
        let reported = Reported()
        let session = PlugSession(
            plug: Self.plug(simulator, "genuine"), client: Self.client, onPin: reported.record,
            logger: Logger(label: "test"))
        let reasons = await Self.reasons(session, polls: 3)
        let stored = PlugSession(
            plug: Self.plug(simulator, "genuine"), client: Self.client, pin: Self.pin(of: device),
            onPin: reported.record,
            logger: Logger(label: "test"))
        let again = await Self.reasons(stored, polls: 2)
        await simulator.shutdown()
        #expect(
            (reasons + again).allSatisfy { $0 == nil || $0 == .timeout } && again.contains(nil), "\(reasons) \(again)")
        let pins = reported.all
        try #require(pins.count == 1, "\(pins)")
        #expect(pins[0].family == .rpc && pins[0].authScheme == .digest)
        #expect(pins[0].deviceID == device.deviceID && pins[0].mac == device.mac && pins[0].node == "tvpc")
        #expect(session.pin == pins[0])
    }

    @Test("a stored Gen2+ pin: a device claiming Gen1 from the first request never gets Basic credentials; logged once")
    func impostorAfterRestart() async throws {
        let simulator = try await Self.start([
            .init(node: "genuine", port: 0, generation: 2, profile: .tvpc, password: "pw", fault: .impostor)
        ])
        let device = try #require(simulator.plug(of: "genuine"))
        let log = LogRecorder()
        let reported = Reported()
        let session = PlugSession(
            plug: Self.plug(simulator, "genuine"), client: Self.client, pin: Self.pin(of: device),
            onPin: reported.record,
            logger: Logger(label: "test") { _ in log })
        let reasons = await Self.reasons(session, polls: 12)
        let statistics = simulator.statistics()["genuine"] ?? .init()
        await simulator.shutdown()
        #expect(reasons.allSatisfy { $0 == .auth || $0 == .timeout } && reasons.contains(.auth), "\(reasons)")
        #expect(statistics.basicCredentialsReceived == 0)
        #expect(statistics.requests <= 12, "only /shelly, at most once a poll: \(statistics.requests) requests")
        #expect(reported.all.isEmpty, "\(reported.all)")
        let refusals = log.entries.filter { $0.message == "plug refused" }
        #expect(refusals.count == 1, "\(refusals.map(\.metadata))")
        #expect(refusals.first?.metadata["error"]?.contains("claims to be Gen1 (Basic auth)") == true)
        #expect(session.pin == Self.pin(of: device))
    }

    @Test("another Gen2+ device (another id and MAC) gets no Digest answer until the pin is cleared; then it is pinned")
    func otherIdentityThenCleared() async throws {
        let simulator = try await Self.start([
            .init(node: "genuine", port: 0, generation: 2, profile: .tvpc, password: "pw"),
            .init(node: "replacement", port: 0, generation: 3, profile: .tvpc, password: "pw"),
        ])
        let genuine = try #require(simulator.plug(of: "genuine"))
        let replacement = try #require(simulator.plug(of: "replacement"))
        let log = LogRecorder()
        let reported = Reported()
        let stored = Self.pin(of: genuine)
        let session = PlugSession(
            plug: Self.plug(simulator, "replacement"), client: Self.client, pin: stored, onPin: reported.record,
            logger: Logger(label: "test") { _ in log })
        let refused = await Self.reasons(session, polls: 5)
        let before = simulator.statistics()["replacement"] ?? .init()
        #expect(refused.allSatisfy { $0 == .auth || $0 == .timeout } && refused.contains(.auth), "\(refused)")
        #expect(before.challenged == 0 && before.allowed == 0 && before.requests <= 5, "\(before)")
        #expect(log.entries.filter { $0.message == "plug refused" }.count == 1)
        #expect(
            log.entries.first { $0.message == "plug refused" }?.metadata["error"]?.contains("answers as id") == true)

        // Only the pin the session holds is cleared: an older one changes nothing.
        var older = stored
        older.firstSeenMilliseconds = 0
        #expect(!session.clearPin(older))
        #expect(session.clearPin(stored))
        #expect(session.pin == nil)
        let afterwards = await Self.reasons(session, polls: 3)
        await simulator.shutdown()
        #expect(afterwards.allSatisfy { $0 == nil || $0 == .timeout } && afterwards.contains(nil), "\(afterwards)")
        #expect(reported.all.count == 1 && reported.all.first?.mac == replacement.mac, "\(reported.all)")
        #expect(reported.all.first?.deviceID == replacement.deviceID)
    }

    @Test(
        "generation: 1 confirms a Gen1 device for a plug pinned to Gen2+: Basic credentials go out and the pin follows")
    func configuredGenerationConfirms() async throws {
        let simulator = try await Self.start([
            .init(node: "genuine", port: 0, generation: 2, profile: .tvpc, password: "pw", fault: .impostor)
        ])
        let device = try #require(simulator.plug(of: "genuine"))
        let reported = Reported()
        let session = PlugSession(
            plug: Self.plug(simulator, "genuine", generation: .gen1), client: Self.client, pin: Self.pin(of: device),
            onPin: reported.record, logger: Logger(label: "test"))
        _ = await Self.reasons(session, polls: 3)
        let statistics = simulator.statistics()["genuine"] ?? .init()
        await simulator.shutdown()
        #expect(statistics.basicCredentialsReceived > 0)
        #expect(reported.all.count == 1, "\(reported.all)")
        #expect(
            reported.all.first?.family == .gen1 && reported.all.first?.mac == device.mac
                && reported.all.first?.deviceID == nil)
        #expect(session.pin?.family == .gen1)
    }

    @Test("the poll loop hands each plug its stored pin by node and meter, and clears one by value")
    func loopPins() async throws {
        var a = PlugConfiguration(node: "wyse", baseURL: "http://127.0.0.1:1", password: "pw")
        a.meter = "psu-a"
        var b = a
        b.meter = "psu-b"
        let pinA = PlugPin(
            node: "wyse", meter: "psu-a", family: .rpc, deviceID: "x", mac: "AA", firstSeenMilliseconds: 1)
        let other = PlugPin(
            node: "wyse", meter: "psu-c", family: .gen1, deviceID: nil, mac: "BB", firstSeenMilliseconds: 1)
        let loop = PollLoop(
            plugs: [a, b], intervalMilliseconds: 1000, client: Self.client, pins: [pinA, other],
            logger: Logger(label: "test"))
        #expect(loop.pins == [pinA])
        #expect(!loop.clearPin(other))
        #expect(loop.clearPin(pinA))
        #expect(loop.pins.isEmpty)
    }
}

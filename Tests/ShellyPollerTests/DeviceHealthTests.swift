import CurlClient
import EnergyModel
import Foundation
import JSON
import Logging
import ShellySimulator
import Testing
import TestSupport

@testable import ShellyPoller

/// Device health at a low rate: model, generation and firmware from `/shelly`, uptime,
/// temperature and Wi-Fi strength from the statuses the plug is read with anyway.
@Suite("Device health", .serialized)
struct DeviceHealthTests {
    static let client = CurlMultiClient()

    @Test(
        "the figures of real status payloads: Gen1 /status and Gen2+ Shelly.GetStatus",
        .enabled(if: ShellyFixtures.testsEnabled, "../shared/fixtures/shelly is absent: real payloads not read")
    )
    func realPayloads() throws {
        let gen1 = ShellyParser.gen1Health(try ShellyParser.json(try ShellyFixtures.bytes("gen1-plug-s-status.json")))
        #expect(gen1.uptimeSeconds != nil && gen1.temperatureCelsius != nil && gen1.wifiRSSI != nil, "\(gen1)")
        let status = try ShellyParser.json(try ShellyFixtures.bytes("gen2-plus-plug-s-shelly-getstatus.json"))
        let gen2 = ShellyParser.rpcHealth(status, component: MeterComponent(kind: .switch, id: 0))
        #expect(gen2.uptimeSeconds != nil && gen2.temperatureCelsius != nil && gen2.wifiRSSI != nil, "\(gen2)")
        let device = try ShellyParser.deviceInfo(try ShellyFixtures.bytes("gen2-plus-plug-s-shelly.json"))
        #expect(device.model != nil && device.firmware != nil, "\(device)")
        let gen1Device = try ShellyParser.deviceInfo(try ShellyFixtures.bytes("gen1-plug-s-shelly.json"))
        #expect(gen1Device.firmware != nil, "\(gen1Device)")
    }

    @Test("health comes with the first reading and then once a minute, never with an extra request per tick",
        arguments: [(1, TransportSetting.http), (2, .http), (2, .websocket), (3, .auto)])
    func lowRate(generation: Int, transport: TransportSetting) async throws {
        let simulator = try await ShellySimulator.start(plugs: [.init(node: "n", port: 0, generation: generation, profile: .wyse, password: "pw")])
        let session = PlugSession(
            plug: PlugConfiguration(node: "n", baseURL: "http://127.0.0.1:\(simulator.port(of: "n") ?? 1)", password: "pw", transport: transport),
            client: Self.client, logger: Logger(label: "test"))
        var outcomes: [PlugOutcome] = []
        for _ in 0..<6 { outcomes.append(await session.poll(timeoutMilliseconds: 10_000)) }
        let requests = simulator.statistics()["n"]?.requests ?? 0
        await simulator.shutdown()
        #expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "\(outcomes.map(\.result))")
        let health = try #require(outcomes.first?.health)
        #expect(health.model != nil && health.firmware != nil && health.generation == "gen\(generation)", "\(health)")
        #expect(health.uptimeSeconds != nil && health.temperatureCelsius != nil && health.wifiRSSI != nil, "\(health)")
        #expect(outcomes.dropFirst().allSatisfy { $0.health == nil }, "not again within the minute")
        // /shelly, the first challenge (Gen2+), then one request or frame per reading.
        #expect(requests == 1 + (generation == 1 ? 0 : 1) + 6, "requests \(requests)")
    }
}

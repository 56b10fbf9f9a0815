import EnergyModel
import Foundation
import JSON
import Testing
import TestSupport

@testable import ShellyPoller

/// What a payload must yield.
enum Expectation: Sendable {
    /// A `/shelly` response.
    case device(ShellyGeneration, auth: Bool, model: String)
    /// A Gen1 `/status`, read at a channel.
    case gen1(channel: Int, ParsedReading)
    /// A Gen2+ component status.
    case component(MeterComponent.Kind, ParsedReading)
    /// A `Shelly.GetStatus`, searched at a channel.
    case deviceStatus(channel: Int, MeterComponent?, ParsedReading?)
    /// An RPC error body.
    case rpcError(String)
    /// Several named error bodies in one file.
    case errorCollection
}

private func reading(_ watts: Double, volts: Double? = nil, amps: Double? = nil, wh: Double? = nil) -> ParsedReading {
    .reading(Reading(watts: watts, volts: volts, amps: amps, energyWattHours: wh))
}

/// The expected result of every payload in ../shared/fixtures/shelly, written from the
/// payloads' values (see their SOURCES.md). A file without an entry fails the test, so a new
/// payload cannot go unchecked.
let expectations: [String: [Expectation]] = [
    "gen1-1l-status-meter-is_valid-false.json": [.gen1(channel: 0, .noReading("meters[0].is_valid is false"))],
    "gen1-1pm-status.json": [.gen1(channel: 0, reading(4711.12, wh: 6_472_513.0 / 60))],
    "gen1-25-roller-shelly.json": [.device(.gen1, auth: false, model: "SHSW-25")],
    "gen1-25-roller-status.json": [
        .gen1(channel: 0, reading(0, volts: 241.8, wh: 0)),
        .gen1(channel: 1, reading(0, volts: 241.8, wh: 5.0 / 60)),
        .gen1(channel: 2, .noReading("no meter 2 (device has 2)")),
    ],
    "gen1-3em-shelly.json": [.device(.gen1, auth: false, model: "SHEM-3")],
    "gen1-3em-status-v1.11.8.json": [
        .gen1(channel: 0, reading(-3924.78, volts: 240.76, amps: 16.33, wh: 1_554_437.0)),
        .gen1(channel: 2, reading(122.22, volts: 231.61, amps: 0.69, wh: 1_207_147.7)),
    ],
    "gen1-3em-status.json": [
        .gen1(channel: 0, reading(6.6, volts: 238.82, amps: 0.07, wh: 31972.1)),
        .gen1(channel: 1, reading(0, volts: 238.72, amps: 0.01, wh: 0)),
    ],
    "gen1-dimmer2-shelly-auth-enabled.json": [.device(.gen1, auth: true, model: "SHDM-2")],
    "gen1-em-status.json": [
        .gen1(channel: 0, reading(-620.34, volts: 235.68, wh: 401_472.9)),
        .gen1(channel: 1, reading(0, volts: 235.68, wh: 173_411.3)),
    ],
    "gen1-plug-s-b-shelly.json": [.device(.gen1, auth: false, model: "SHPLG-S")],
    "gen1-plug-s-b-status.json": [.gen1(channel: 0, reading(0, wh: 0))],
    "gen1-plug-s-settings.json": [.gen1(channel: 0, .noReading("device has no meters"))],
    "gen1-plug-s-shelly.json": [.device(.gen1, auth: false, model: "SHPLG-S")],
    "gen1-plug-s-status.json": [.gen1(channel: 0, reading(0, wh: 2632.0 / 60))],
    "gen1-shelly1-nometer-status.json": [.gen1(channel: 0, .noReading("meters[0]: unmetered (no total)"))],
    "gen2-plus-1pm-shelly.json": [.device(.rpc(2), auth: false, model: "SNSW-001P16EU")],
    "gen2-plus-1pm-switch0-status.json": [.component(.switch, reading(0, volts: 232.8, amps: 0, wh: 110.046))],
    "gen2-plus-2pm-shelly-auth-enabled.json": [.device(.rpc(2), auth: true, model: "SNSW-102P16EU")],
    "gen2-plus-plug-s-fw1.7.5-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .switch, id: 0), reading(36.7, volts: 232.1, amps: 0.307, wh: 499_599.717))
    ],
    "gen2-plus-plug-s-fw1.7.5-shelly.json": [.device(.rpc(2), auth: false, model: "SNPL-00112EU")],
    "gen2-plus-plug-s-fw1.7.5-switch0-status.json": [.component(.switch, reading(36.7, volts: 232.1, amps: 0.307, wh: 499_599.717))],
    "gen2-plus-plug-s-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .switch, id: 0), reading(2.7, volts: 227.9, amps: 0.121, wh: 7258.589))
    ],
    "gen2-plus-plug-s-shelly.json": [.device(.rpc(2), auth: false, model: "SNPL-00112EU")],
    "gen2-plus-plug-s-switch0-status.json": [.component(.switch, reading(2.7, volts: 227.9, amps: 0.121, wh: 7258.589))],
    "gen2-plus-plug-uk-shelly.json": [.device(.rpc(2), auth: false, model: "SNPL-00112UK")],
    "gen2-plus-plug-uk-switch0-status.json": [.component(.switch, reading(0, volts: 235.1, amps: 0, wh: 0))],
    "gen2-pro-3em-em0-status.json": [.component(.em, reading(558.965, amps: 3.856))],
    "gen2-pro-3em-emdata0-status.json": [.component(.em, .noReading("em: no total_act_power"))],
    "gen2-pro-3em-fw1.7.5-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .em, id: 0), reading(6.78, amps: 0.123))
    ],
    "gen2-pro-3em-fw1.7.5-shelly.json": [.device(.rpc(2), auth: false, model: "SPEM-003CEBEU")],
    "gen2-pro-3em-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .em, id: 0), reading(558.965, amps: 3.856)),
        .deviceStatus(channel: 1, nil, nil),
    ],
    "gen2-pro-3em-shelly.json": [.device(.rpc(2), auth: false, model: "SPEM-003CEBEU")],
    "gen2-pro-em50-shelly-getstatus.json": [
        // switch:0 is the unmetered contactor: the meter is em1:0.
        .deviceStatus(channel: 0, MeterComponent(kind: .em1, id: 0), reading(231.9, volts: 232.9, amps: 1.904)),
        .deviceStatus(channel: 1, MeterComponent(kind: .em1, id: 1), reading(0, volts: 233, amps: 0)),
    ],
    "gen2-pro-em50-shelly.json": [.device(.rpc(2), auth: false, model: "SPEM-002CEBEU50")],
    "gen2-pro3-unmetered-switch0-status.json": [.component(.switch, .noReading("switch: unmetered (no apower)"))],
    "gen2-rpc-401-auth-challenge-ws-frame.json": [.rpcError("RPC error 401:")],
    "gen2-rpc-error-examples.json": [.errorCollection],
    "gen3-1pm-mini-shelly-auth-enabled.json": [.device(.rpc(3), auth: true, model: "S3SW-001P8EU")],
    "gen3-1pm-mini-switch0-status.json": [.component(.switch, reading(0, volts: 232.8, amps: 0, wh: 0))],
    "gen3-em-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .em1, id: 0), reading(4.1, volts: 234.9, amps: 0.04))
    ],
    "gen3-em-shelly.json": [.device(.rpc(3), auth: false, model: "S3EM-002CXCEU")],
    "gen3-plug-s-fw1.2.3-shelly.json": [.device(.rpc(3), auth: false, model: "S3PL-00112EU")],
    "gen3-plug-s-fw1.2.3-switch0-status.json": [.component(.switch, reading(0, volts: 238.3, amps: 0, wh: 20))],
    "gen3-plug-s-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .switch, id: 0), reading(0, volts: 233.6, amps: 0, wh: 452))
    ],
    "gen3-plug-s-shelly.json": [.device(.rpc(3), auth: false, model: "S3PL-00112EU")],
    "gen3-plug-s-switch0-status.json": [.component(.switch, reading(0, volts: 233.6, amps: 0, wh: 452))],
    "gen3-pm-mini-pm1-0-status.json": [.component(.pm1, reading(4.4, volts: 234.5, amps: 0.043, wh: 73112.963))],
    "gen3-pm-mini-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .pm1, id: 0), reading(4.4, volts: 234.5, amps: 0.043, wh: 73112.963))
    ],
    "gen3-pm-mini-shelly.json": [.device(.rpc(3), auth: false, model: "S3PM-001PCEU16")],
    "gen4-em-mini-shelly-auth-enabled.json": [.device(.rpc(4), auth: true, model: "S4EM-001PXCEU16")],
    "gen4-em-mini-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .em1, id: 0), reading(2.6, volts: 233, amps: 0.028))
    ],
    "gen4-mini1-shelly-getdeviceinfo.json": [.device(.rpc(4), auth: false, model: "S4SW-001X8EU")],
    "gen4-power-strip-shelly-auth-enabled.json": [.device(.rpc(4), auth: true, model: "S4PL-00416EU")],
    "gen4-power-strip-shelly-getstatus.json": [
        .deviceStatus(channel: 0, MeterComponent(kind: .switch, id: 0), reading(0, volts: 232.5, amps: 0.017, wh: 6468.282)),
        .deviceStatus(channel: 3, MeterComponent(kind: .switch, id: 3), reading(15.4, volts: 231.2, amps: 0.169, wh: 18440.297)),
    ],
]

@Suite("Shelly payload parsing", .enabled(if: ShellyFixtures.testsEnabled, "../shared/fixtures/shelly is absent: device payload tests skipped"))
struct ShellyParserTests {
    @Test("every fixture has an expectation")
    func everyFixtureCovered() {
        let names = ShellyFixtures.allNames()
        #expect(names.count >= 50, "payloads in \(ShellyFixtures.folder.path): \(names.count)")
        for name in names {
            #expect(expectations[name] != nil, "no expectation for \(name)")
        }
    }

    @Test("fixture", arguments: ShellyFixtures.allNames())
    func fixture(name: String) throws {
        let bytes = try ShellyFixtures.bytes(name)
        let cases = try #require(expectations[name], "no expectation for \(name)")
        for expectation in cases {
            try check(expectation, bytes, name)
        }
    }

    private func check(_ expectation: Expectation, _ bytes: [UInt8], _ name: String) throws {
        switch expectation {
        case .device(let generation, let auth, let model):
            let info = try ShellyParser.deviceInfo(bytes)
            #expect(info.generation == generation, "\(name)")
            #expect(info.authenticationEnabled == auth, "\(name)")
            #expect(info.model == model, "\(name)")
        case .gen1(let channel, let expected):
            expectEqual(try ShellyParser.gen1Status(bytes, channel: channel), expected, name)
        case .component(let kind, let expected):
            expectEqual(try ShellyParser.componentStatus(bytes, kind: kind), expected, name)
        case .deviceStatus(let channel, let component, let expected):
            let found = try ShellyParser.findMeter(inDeviceStatus: bytes, channel: channel)
            #expect(found?.0 == component, "\(name) channel \(channel)")
            if let expected, let parsed = found?.1 { expectEqual(parsed, expected, name) }
        case .rpcError(let prefix):
            let error = #expect(throws: ShellyPayloadError.self) {
                try ShellyParser.componentStatus(bytes, kind: .switch)
            }
            #expect(error?.message.hasPrefix(prefix) == true, "\(name): \(error?.message ?? "")")
        case .errorCollection:
            let collection = try ShellyParser.json(bytes)
            var checked = 0
            for (key, value) in collection.object ?? [:] where value.object != nil {
                let body = Array(try JSONEncoder().encode(value))
                let error = #expect(throws: ShellyPayloadError.self, "\(key)") {
                    try ShellyParser.componentStatus(body, kind: .switch)
                }
                #expect(error?.message.hasPrefix("RPC error ") == true, "\(key)")
                checked += 1
            }
            #expect(checked == 7)
        }
    }

    /// Exact for no-readings; readings compared field by field to 1e-9.
    private func expectEqual(_ parsed: ParsedReading, _ expected: ParsedReading, _ name: String) {
        switch (parsed, expected) {
        case (.reading(let got), .reading(let want)):
            #expect(abs(got.watts - want.watts) < 1e-9, "\(name) watts \(got.watts) != \(want.watts)")
            #expect(close(got.volts, want.volts), "\(name) volts \(String(describing: got.volts))")
            #expect(close(got.amps, want.amps), "\(name) amps \(String(describing: got.amps))")
            #expect(close(got.energyWattHours, want.energyWattHours), "\(name) Wh \(String(describing: got.energyWattHours))")
        default:
            #expect(parsed == expected, "\(name)")
        }
    }

    private func close(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): abs(a - b) < 1e-9
        default: false
        }
    }
}

@Suite("Shelly parser robustness")
struct ShellyParserRobustnessTests {
    @Test(
        "garbage bodies are parse errors",
        arguments: ["", "<html>", "{", "{\"meters\":", "null", "[1,2]", "{\"meters\":{}}", "{\"meters\":[{\"power\":\"abc\",\"total\":1}]}"]
    )
    func garbage(body: String) {
        #expect(throws: ShellyPayloadError.self) {
            _ = try ShellyParser.gen1Status(Array(body.utf8), channel: 0)
        }
    }

    @Test("wrong types in RPC components are parse errors")
    func wrongTypes() {
        #expect(throws: ShellyPayloadError.self) {
            _ = try ShellyParser.componentStatus(Array("{\"apower\":true}".utf8), kind: .switch)
        }
        #expect(throws: ShellyPayloadError.self) {
            _ = try ShellyParser.deviceInfo(Array("{\"gen\":\"two\"}".utf8))
        }
        #expect(throws: ShellyPayloadError.self) {
            _ = try ShellyParser.deviceInfo(Array("{\"hello\":1}".utf8))
        }
    }

    @Test("a JSON-RPC result envelope is unwrapped")
    func envelope() throws {
        let body = "{\"id\":1,\"src\":\"x\",\"result\":{\"id\":0,\"apower\":12.5,\"voltage\":230.1}}"
        let parsed = try ShellyParser.componentStatus(Array(body.utf8), kind: .switch)
        #expect(parsed == .reading(Reading(watts: 12.5, volts: 230.1)))
    }
}

import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import ShellyPoller

/// The rules of pinned credentials (`PinRule`), on real `/shelly` payloads and on claims built
/// for the cases the payloads do not show.
@Suite("Pin rules")
struct PinRuleTests {
    static let now: Int64 = 1_780_000_000_000

    static func plug(_ generation: GenerationSetting = .auto, password: String? = "pw", meter: String? = nil)
        -> PlugConfiguration
    {
        var plug = PlugConfiguration(
            node: "tvpc", baseURL: "http://192.0.2.1", generation: generation, password: password)
        plug.meter = meter
        return plug
    }

    static func gen2(id: String? = "shellyplusplugs-aabbccddeeff", mac: String? = "AABBCCDDEEFF") -> DeviceInfo {
        DeviceInfo(generation: .rpc(2), authenticationEnabled: true, identifier: id, model: "SNPL-00112EU", mac: mac)
    }

    static func gen1(mac: String? = "AABBCCDDEEFF") -> DeviceInfo {
        DeviceInfo(generation: .gen1, authenticationEnabled: true, identifier: mac, model: "SHPLG-S", mac: mac)
    }

    static let gen2Pin = PlugPin(
        node: "tvpc", family: .rpc, deviceID: "shellyplusplugs-aabbccddeeff", mac: "AABBCCDDEEFF",
        firstSeenMilliseconds: 1_770_000_000_000)

    static func decide(_ plug: PlugConfiguration, pin: PlugPin?, claim: DeviceInfo) -> PinRule.Decision {
        PinRule.decide(plug: plug, pin: pin, claim: claim, nowMilliseconds: now)
    }

    @Test("a plug without a password is never pinned")
    func noPassword() {
        #expect(Self.decide(Self.plug(password: nil), pin: nil, claim: Self.gen2()) == .proceed)
        #expect(Self.decide(Self.plug(password: nil), pin: Self.gen2Pin, claim: Self.gen1()) == .proceed)
    }

    @Test("auto: the first device detected is pinned with its family, id and MAC, by node and meter")
    func firstDetection() {
        let decision = Self.decide(Self.plug(meter: "psu-a"), pin: nil, claim: Self.gen2(mac: "aa:bb:cc:dd:ee:ff"))
        let expected = PlugPin(
            node: "tvpc", meter: "psu-a", family: .rpc, deviceID: "shellyplusplugs-aabbccddeeff", mac: "AABBCCDDEEFF",
            firstSeenMilliseconds: Self.now)
        #expect(decision == .pin(expected))
        #expect(expected.authScheme == .digest && expected.plugName == "tvpc/psu-a")
        guard case .pin(let gen1) = Self.decide(Self.plug(), pin: nil, claim: Self.gen1()) else {
            Issue.record("a Gen1 plug not pinned")
            return
        }
        #expect(gen1.family == .gen1 && gen1.authScheme == .basic && gen1.deviceID == nil && gen1.mac == "AABBCCDDEEFF")
    }

    @Test("auto: the pinned device gets its credentials; MAC case and separators and id case do not matter")
    func sameDevice() {
        #expect(Self.decide(Self.plug(), pin: Self.gen2Pin, claim: Self.gen2()) == .proceed)
        #expect(
            Self.decide(
                Self.plug(), pin: Self.gen2Pin,
                claim: Self.gen2(id: "ShellyPlusPlugS-AABBCCDDEEFF", mac: "aa-bb-cc-dd-ee-ff"))
                == .proceed)
        // Gen3 and Gen4 are the same family as Gen2: the identity decides.
        let gen3 = DeviceInfo(
            generation: .rpc(3), authenticationEnabled: true, identifier: "shellyplusplugs-aabbccddeeff", model: nil,
            mac: "AABBCCDDEEFF")
        #expect(Self.decide(Self.plug(), pin: Self.gen2Pin, claim: gen3) == .proceed)
    }

    @Test("auto: another family is refused, with what it claims, the pin and what to do, in one line")
    func otherFamily() {
        guard case .refuse(let message) = Self.decide(Self.plug(), pin: Self.gen2Pin, claim: Self.gen1()) else {
            Issue.record("a Gen1 claim against a Gen2+ pin was not refused")
            return
        }
        #expect(message.contains("claims to be Gen1 (Basic auth)"), "\(message)")
        #expect(message.contains("pinned to Gen2+ (Digest auth)"), "\(message)")
        #expect(message.contains("since 2026-02-02T02:40:00Z"), "\(message)")
        #expect(message.contains("generation:") && message.contains("pins --database FILE --clear tvpc"), "\(message)")
        // The reverse: a Gen1 pin and a device that now speaks RPC gets no Digest answer either.
        let gen1Pin = PlugPin(node: "tvpc", family: .gen1, deviceID: nil, mac: "AABBCCDDEEFF", firstSeenMilliseconds: 0)
        guard case .refuse = Self.decide(Self.plug(), pin: gen1Pin, claim: Self.gen2()) else {
            Issue.record("a Gen2+ claim against a Gen1 pin was not refused")
            return
        }
    }

    @Test(
        "auto: another id or MAC in the same family is refused, also a value the pin has and the device leaves out",
        arguments: [
            ("shellyplusplugs-112233445566", "AABBCCDDEEFF"), ("shellyplusplugs-aabbccddeeff", "112233445566"),
            (nil, "AABBCCDDEEFF"), ("shellyplusplugs-aabbccddeeff", nil), ("", ""),
        ] as [(String?, String?)])
    func otherIdentity(id: String?, mac: String?) {
        guard
            case .refuse(let message) = Self.decide(Self.plug(), pin: Self.gen2Pin, claim: Self.gen2(id: id, mac: mac))
        else {
            Issue.record("another identity was not refused: \(id ?? "nil"), \(mac ?? "nil")")
            return
        }
        #expect(message.hasPrefix("device now answers as id "), "\(message)")
    }

    @Test("device strings in a refusal are one line of bounded length")
    func hostileStrings() {
        let id = "evil\n2026-01-01 error energy-monitor: forged line\u{1B}[2J" + String(repeating: "x", count: 10_000)
        guard case .refuse(let message) = Self.decide(Self.plug(), pin: Self.gen2Pin, claim: Self.gen2(id: id, mac: id))
        else {
            Issue.record("not refused")
            return
        }
        #expect(!message.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(message)")
        #expect(message.count < 700, "\(message.count) characters")
    }

    @Test("generation set in the configuration wins: the pin follows it and the device's identity")
    func configuredGeneration() {
        // Confirms a device that claims Gen1 for a plug pinned to Gen2+: the pin follows.
        #expect(
            Self.decide(Self.plug(.gen1), pin: Self.gen2Pin, claim: Self.gen1())
                == .pin(
                    PlugPin(
                        node: "tvpc", family: .gen1, deviceID: nil, mac: "AABBCCDDEEFF", firstSeenMilliseconds: Self.now
                    )))
        // `generation: 2` with a device claiming Gen1: the configured family is pinned.
        guard case .pin(let pin) = Self.decide(Self.plug(.rpc), pin: nil, claim: Self.gen1()) else {
            Issue.record("not pinned")
            return
        }
        #expect(pin.family == .rpc && pin.mac == "AABBCCDDEEFF")
        // A new identity in the configured family is confirmed too.
        guard
            case .pin(let replaced) = Self.decide(
                Self.plug(.rpc), pin: Self.gen2Pin, claim: Self.gen2(mac: "112233445566"))
        else {
            Issue.record("not re-pinned")
            return
        }
        #expect(replaced.mac == "112233445566" && replaced.firstSeenMilliseconds == Self.now)
        // Nothing changes when the pin already is what the configuration and the device say.
        #expect(Self.decide(Self.plug(.rpc), pin: Self.gen2Pin, claim: Self.gen2()) == .proceed)
    }

    @Test("real /shelly payloads: a Gen2+ plug pinned from its payload refuses a real Gen1 payload and accepts its own")
    func realPayloads() throws {
        try #require(
            ShellyFixtures.available, "skipped: \(ShellyFixtures.folder.path) is absent (public payloads, see README)")
        let gen2 = try ShellyParser.deviceInfo(try ShellyFixtures.bytes("gen2-plus-2pm-shelly-auth-enabled.json"))
        let gen1 = try ShellyParser.deviceInfo(try ShellyFixtures.bytes("gen1-dimmer2-shelly-auth-enabled.json"))
        #expect(gen2.deviceID == "shellyplus2pm-aabbccddeeff" && gen2.mac == "AABBCCDDEEFF")
        #expect(gen1.deviceID == nil && gen1.mac == "98CDAC0D01BB")
        guard case .pin(let pin) = Self.decide(Self.plug(), pin: nil, claim: gen2) else {
            Issue.record("not pinned")
            return
        }
        #expect(Self.decide(Self.plug(), pin: pin, claim: gen2) == .proceed)
        guard case .refuse = Self.decide(Self.plug(), pin: pin, claim: gen1) else {
            Issue.record("a real Gen1 payload got the Gen2+ credentials")
            return
        }
        // Every real Gen2+ payload has an id and a MAC; every Gen1 payload a MAC and no id.
        for name in ShellyFixtures.allNames()
        where name.hasSuffix("shelly.json") || name.contains("shelly-auth-enabled") {
            let info = try ShellyParser.deviceInfo(try ShellyFixtures.bytes(name))
            if case .gen1 = info.generation {
                #expect(info.deviceID == nil && info.mac != nil, "\(name)")
            } else {
                #expect(info.deviceID != nil && info.mac != nil, "\(name)")
            }
        }
    }
}

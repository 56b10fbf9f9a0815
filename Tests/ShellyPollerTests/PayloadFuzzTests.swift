import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import ShellyPoller

/// Seeded random mutation of real device payloads: every parser entry point must return a
/// reading, a no-reading or a one-line error for any bytes, never crash or hang.
@Suite("Payload fuzzing")
struct PayloadFuzzTests {
    /// Inputs that once broke a parser, kept as regression cases (written for this test).
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    /// Runs every parser entry point on `bytes` and checks the shape of each result.
    static func check(_ bytes: [UInt8], label: String) {
        func refused(_ error: ShellyPayloadError) {
            #expect(!error.message.isEmpty, "\(label): empty error")
            #expect(!error.message.contains("\n") && !error.message.contains("\r"), "\(label): multi-line error \(error.message)")
            #expect(error.message.count <= 250, "\(label): \(error.message.count)-character error")
            #expect(error.reason == .parse || error.reason == .invalid, "\(label): reason \(error.reason)")
        }
        // The uptime the bytes carry, as the poller reads it: a finite, non-negative number or none.
        var uptime: Double?
        if let json = try? ShellyParser.json(bytes) {
            let gen1 = ShellyParser.gen1Health(json).uptimeSeconds
            uptime = ShellyParser.sysUptime(json)
            #expect(uptime.map { $0.isFinite && $0 >= 0 } ?? true, "\(label): uptime \(uptime ?? 0)")
            if uptime == nil, let gen1, gen1.isFinite { uptime = gen1 }
        }
        // Then the ledger judges its device counter, a second after a believable one, with the
        // uptime the same bytes give: what it takes adds at most what the meter could count.
        func counter(_ reading: Reading, rating: MeterRating, uptime: Double?) {
            for previous in [nil, 100.0] {
                var counters = EnergyCounters()
                let context = DeviceCounterContext(maximumWatts: rating.maximumWatts, uptimeSeconds: uptime)
                if let previous {
                    _ = counters.add(
                        Sample(
                            node: "n", timestampMilliseconds: 1_000, reading: Reading(watts: 1, energyWattHours: previous)),
                        maxGapMilliseconds: 3000,
                        device: DeviceCounterContext(maximumWatts: rating.maximumWatts, uptimeSeconds: 1000))
                }
                let before = counters.deviceJoules
                let (_, verdict) = counters.add(
                    Sample(node: "n", timestampMilliseconds: 2_000, reading: reading), maxGapMilliseconds: 3000,
                    device: context)
                let added = counters.deviceJoules - before
                let bound = previous == nil
                    ? rating.maximumWatts * (max(0, uptime ?? 0) + EnergyCounters.slackSeconds)
                    : rating.maximumWatts * (1 + EnergyCounters.slackSeconds)
                #expect(
                    added.isFinite && added >= 0 && added <= bound * (1 + 1e-9), "\(label): \(added) J added, \(verdict)")
                if case .refused(let refusal) = verdict {
                    #expect(!refusal.message.contains("\n"), "\(label): \(refusal)")
                }
                if verdict.isAccepted, let wattHours = reading.energyWattHours {
                    #expect(wattHours.isFinite && wattHours >= 0, "\(label)")
                }
            }
        }
        func parsed(_ parsed: ParsedReading, rating: MeterRating) {
            switch parsed {
            case .noReading(let why):
                #expect(!why.isEmpty && !why.contains("\n"), "\(label): no-reading reason \(why)")
            case .reading(let reading):
                // A reading goes through the validator before it is stored: what passes is believable.
                switch ReadingValidator().validate(reading, rating: rating) {
                case .success(let valid):
                    #expect(valid.watts.isFinite && valid.watts >= 0 && valid.watts <= rating.maximumWatts, "\(label): \(valid)")
                    counter(valid, rating: rating, uptime: uptime)
                case .failure(let failure):
                    #expect(failure.reason == .invalid && !failure.message.contains("\n"), "\(label): \(failure)")
                }
            }
        }

        do { checkPin(try ShellyParser.deviceInfo(bytes), label: label) } catch { refused(error) }
        for channel in [0, 1] {
            do {
                let (reading, rating) = try ShellyParser.gen1RatedStatus(bytes, channel: channel)
                parsed(reading, rating: rating)
            } catch { refused(error) }
        }
        for kind in MeterComponent.Kind.allCases {
            do { parsed(try ShellyParser.componentStatus(bytes, kind: kind), rating: MeterRating(kind)) } catch { refused(error) }
        }
        do {
            if let (component, reading) = try ShellyParser.findMeter(inDeviceStatus: bytes, channel: 0) {
                parsed(reading, rating: MeterRating(component.kind))
            }
        } catch { refused(error) }
    }

    /// The pin of a Gen2+ plug whose `/shelly` is the `gen2-plus-plug-s-shelly.json` fixture.
    static let gen2Pin = PlugPin(
        node: "n", family: .rpc, deviceID: "shellyplusplugs-aabbccddeeff", mac: "AABBCCDDEEFF", firstSeenMilliseconds: 0
    )

    /// What any `/shelly` a device can send does to a plug with a password: without a pin it is
    /// pinned as it claims; against the Gen2+ pin, the credentials go only to a Gen2+ claim of the
    /// same id and MAC, and a refusal is one bounded line whatever the device wrote.
    static func checkPin(_ info: DeviceInfo, label: String) {
        let plug = PlugConfiguration(node: "n", baseURL: "http://192.0.2.1", password: "pw")
        if case .pin(let pin) = PinRule.decide(plug: plug, pin: nil, claim: info, nowMilliseconds: 1) {
            #expect(pin.family == PlugPin.Family(info.generation), "\(label)")
        } else {
            Issue.record("\(label): a first detection was not pinned")
        }
        let decision = PinRule.decide(plug: plug, pin: gen2Pin, claim: info, nowMilliseconds: 1)
        let same: Bool
        if case .rpc = info.generation {
            same = info.deviceID?.lowercased() == gen2Pin.deviceID && info.mac.map(PlugPin.normalizedMAC) == gen2Pin.mac
        } else {
            same = false
        }
        switch decision {
        case .proceed:
            #expect(same, "\(label): credentials for \(info)")
        case .refuse(let message):
            #expect(!same, "\(label): the pinned device refused")
            #expect(
                !message.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(label): \(message)")
            #expect(message.count <= 700, "\(label): \(message.count)-character refusal")
        case .pin:
            Issue.record("\(label): re-pinned under generation: auto")
        }
    }

    // The loops yield now and then: they are CPU-bound and would otherwise hold the few
    // threads of the cooperative pool that timing-sensitive tests running alongside need.

    @Test(
        "1,100 mutations of the real payloads", .timeLimit(.minutes(5)),
        .enabled(if: ShellyFixtures.testsEnabled, "../shared/fixtures/shelly is absent (public payloads, see README)")
    )
    func mutatedFixtures() async throws {
        var rng = SeededGenerator(seed: 0x5EED_0007)
        let fixtures = try ShellyFixtures.names().map { ($0, try ShellyFixtures.bytes($0)) }
        let perFixture = max(20, 1_100 / max(fixtures.count, 1))
        for (name, bytes) in fixtures {
            for round in 0..<perFixture {
                Self.check(PayloadMutator.mutate(bytes, using: &rng), label: "\(name) mutation \(round)")
                if round % 10 == 0 { await Task.yield() }
            }
        }
    }

    @Test(
        "extreme numbers in every numeric field of every real payload", .timeLimit(.minutes(5)),
        .enabled(if: ShellyFixtures.testsEnabled, "../shared/fixtures/shelly is absent (public payloads, see README)")
    )
    func extremeNumbersInEveryField() async throws {
        var checked = 0
        for name in try ShellyFixtures.names() {
            for variant in PayloadMutator.extremeVariants(of: try ShellyFixtures.bytes(name)) {
                Self.check(variant.bytes, label: "\(name) \(variant.label)")
                checked += 1
                if checked % 200 == 0 { await Task.yield() }
            }
        }
        #expect(checked > 5_000, "variants checked: \(checked)")
    }

    @Test("a generation or an RPC error code beyond any integer is one error line", arguments: ExtremeNumbers.literals)
    func extremeGenerationAndErrorCode(literal: String) {
        let device = #expect(throws: ShellyPayloadError.self) {
            try ShellyParser.deviceInfo(Array("{\"gen\":\(literal),\"id\":\"shellyplugsg3-1\",\"auth_en\":true}".utf8))
        }
        #expect(device?.message.hasPrefix("/shelly: unexpected gen") == true || device?.reason == .invalid, "\(device?.message ?? "")")
        for body in ["{\"code\":\(literal),\"message\":\"x\"}", "{\"id\":1,\"error\":{\"code\":\(literal),\"message\":\"x\"}}"] {
            let error = #expect(throws: ShellyPayloadError.self) { try ShellyParser.componentStatus(Array(body.utf8), kind: .switch) }
            #expect(error.map { !$0.message.contains("\n") && $0.message.count <= 250 } == true, "\(body)")
        }
    }

    @Test("random bytes, deep nesting, huge numbers and bodies")
    func hostileInputs() async {
        var rng = SeededGenerator(seed: 42)
        for round in 0..<500 {
            let count = Int.random(in: 0...512, using: &rng)
            Self.check((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }, label: "random \(round)")
            if round % 20 == 0 { await Task.yield() }
        }
        for depth in [63, 64, 65, 1_000, 200_000] {
            Self.check(Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth), label: "[ x\(depth)")
            Self.check(Array(String(repeating: "{\"a\":", count: depth).utf8) + [0x31] + Array(repeating: UInt8(ascii: "}"), count: depth), label: "{ x\(depth)")
        }
        for literal in PayloadMutator.oddNumbers {
            Self.check(Array("{\"id\":0,\"apower\":\(literal),\"act_power\":\(literal),\"total_act_power\":\(literal)}".utf8), label: literal)
            Self.check(Array("{\"meters\":[{\"power\":\(literal),\"total\":1}]}".utf8), label: "gen1 \(literal)")
        }
        Self.check(Array("{\"apower\":\"\(String(repeating: "9", count: 300_000))\"}".utf8), label: "300 KB body")
        Self.check(Array("{\"apower\":\(String(repeating: "9", count: 5_000))}".utf8), label: "5,000-digit number")
    }

    @Test("JSON-shaped bodies without a believable number are invalid, not parse errors")
    func classification() {
        func reason(_ text: String) -> PollErrorReason? {
            do {
                _ = try ShellyParser.componentStatus(Array(text.utf8), kind: .switch)
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(reason("{\"id\":0,\"apower\":NaN}") == .invalid)
        #expect(reason("{\"id\":0,\"apower\":-Infinity}") == .invalid)
        #expect(reason("{\"id\":0,\"apower\":1e999}") == .invalid)
        #expect(reason("{\"id\":0,\"apower\":12.5,\"aenergy\":{\"tot") == .invalid)
        #expect(reason("{\"id\":0,\"apower\":12.5,\"source\":\"ini") == .invalid)
        #expect(reason("<html><body>\u{1}\u{2}garbage{{not json") == .parse)
        #expect(reason("{\"id\":0,\"apower\":12.5,}}") == .parse)
        #expect(reason(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) == .parse)
        #expect(reason("{\"id\":0,\"apower\":\"" + String(repeating: "x", count: 300 * 1024) + "\"}") == .invalid)
    }

    @Test(
        "/shelly cases of the corpus against a pinned Gen2+ plug",
        arguments: [
            ("shelly-gen1-auth-same-mac.json", false), ("shelly-gen1-with-gen2-id.json", false),
            ("shelly-gen2-id-line-break-long.json", false), ("shelly-gen2-mac-not-a-string.json", false),
            ("shelly-gen2-same-device-mac-colons.json", true),
        ])
    func pinCorpus(name: String, credentials: Bool) throws {
        let info = try ShellyParser.deviceInfo(Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name))))
        let plug = PlugConfiguration(node: "n", baseURL: "http://192.0.2.1", password: "pw")
        let decision = PinRule.decide(plug: plug, pin: Self.gen2Pin, claim: info, nowMilliseconds: 1)
        #expect((decision == .proceed) == credentials, "\(name): \(decision)")
    }

    @Test("every input in the corpus")
    func corpusInputs() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)) ?? []).filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
        try #require(!names.isEmpty, "the corpus folder \(Self.corpus.path) is empty")
        for name in names {
            Self.check(Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name))), label: "corpus \(name)")
        }
    }
}

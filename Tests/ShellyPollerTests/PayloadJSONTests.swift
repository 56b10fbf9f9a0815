import Foundation
import JSON
import Testing
import TestSupport

@testable import ShellyPoller

/// Every real payload, and mutations of those that pass the poll path's preflight, read the
/// same with the strict JSON reader as with Foundation's `JSONDecoder`.
@Suite("Payload JSON")
struct PayloadJSONTests {
    @Test(
        "every real payload, and mutations of them, agree with JSONDecoder", .timeLimit(.minutes(5)),
        .enabled(if: ShellyFixtures.testsEnabled, "../shared/fixtures/shelly is absent (public payloads, see README)")
    )
    func fixturesAndMutations() async throws {
        var rng = SeededGenerator(seed: 0x15_0AD3)
        for name in try ShellyFixtures.names() {
            let bytes = try ShellyFixtures.bytes(name)
            #expect(JSONValue.parse(bytes) != nil, "\(name)")
            JSONAgreement.expectSameAsReference(bytes, name)
            for round in 0..<40 {
                let mutated = PayloadMutator.mutate(bytes, using: &rng)
                // Bodies the preflight stops never reach either parser.
                guard (try? JSONPreflight.check(mutated)) != nil else { continue }
                JSONAgreement.expectSameAsReference(mutated, "\(name) mutation \(round)")
            }
            await Task.yield()
        }
    }
}

/// The reference comparison: `JSONDecoder` through `JSONValue`'s `Decodable` conformance.
enum JSONAgreement {
    static func expectSameAsReference(_ bytes: [UInt8], _ label: String) {
        // The one place the reader is stricter by design: invalid UTF-8, which JSONDecoder
        // repairs on Linux, is refused.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            #expect(JSONValue.parse(bytes) == nil, "\(label): invalid UTF-8 accepted")
            return
        }
        let expected = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        let parsed = JSONValue.parse(bytes)
        #expect(parsed == expected, "\(label): \(String(describing: parsed)) != \(String(describing: expected))")
    }
}

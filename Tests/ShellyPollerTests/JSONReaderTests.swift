import Foundation
import TestSupport
import Testing

@testable import ShellyPoller

/// The poll path's JSON parser against Foundation's `JSONDecoder` (through `JSONValue`'s
/// `Decodable` conformance, what the poller used before): same verdict, same values.
@Suite("JSON reader")
struct JSONReaderTests {
    /// What `JSONDecoder` makes of `bytes`, the reference.
    static func reference(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    static func expectSameAsReference(_ bytes: [UInt8], _ label: String) {
        let expected = reference(bytes)
        let parsed = JSONReader.parse(bytes)
        #expect(parsed == expected, "\(label): \(String(describing: parsed)) != \(String(describing: expected))")
    }

    @Test(
        "edge cases agree with JSONDecoder",
        arguments: [
            "", " ", "1", "-0", "0", "01", "-", "1.", ".5", "1e5", "1E+2", "2.5e-3", "-1.25E-2", "1e", "1e+",
            "0.1", "230.1", "12.5", "1735689600", "9007199254740993", "123456789012345678901234567890",
            "4.9e-324", "1e308", "0.000001234", "3.141592653589793238462643", "1e999", "-1e999", "NaN",
            "true", "false", "null", "tru", "nul", "true false", "[1,]", "[,1]", "[]", "{}", "[1 2]",
            "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\"1}", "{a:1}", "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
            "\"\"", "\"abc\"", "\"\\u00e9\\n\\t\\\"\\\\\\/\\b\\f\\r\"", "\"\\ud83d\\ude00\"", "\"\\x\"", "\"abc",
            "\"tab\there\"", "\u{FEFF}{\"a\":1}", " \n\t{ \"a\" : [ 1 , 2 ] } \r\n", "{\"k\":\"\u{e9}\u{1F600}\"}",
            "[-0.0, 0e0, 1E-0, 10.50]", "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1},\"c\":0,\"a\":3}", "[1,,2]", "{\"a\":1,,}",
            "[1,]", "{\"a\":1,}", "[ 1 , ]", "{,}", "[,]", "{\"nested\":{\"deeper\":{\"deepest\":[[[]]]}}}",
        ]
    )
    func edgeCases(text: String) {
        Self.expectSameAsReference(Array(text.utf8), text)
    }

    @Test(
        "invalid UTF-8, raw control characters and unpaired surrogates in strings are refused",
        arguments: [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0x01, 0x22], Array("\"\\ud800\"".utf8), Array("\"\\udc00\"".utf8)]
    )
    func invalidBytes(bytes: [UInt8]) {
        #expect(JSONReader.parse(bytes) == nil)
        Self.expectSameAsReference(bytes, "\(bytes)")
    }

    @Test("nesting beyond the reader's own bound is refused, not a stack overflow")
    func deepNesting() {
        let depth = JSONReader.maxDepth + 1
        #expect(JSONReader.parse(Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)) == nil)
        let allowed = JSONReader.maxDepth
        #expect(JSONReader.parse(Array(repeating: UInt8(ascii: "["), count: allowed) + Array(repeating: UInt8(ascii: "]"), count: allowed)) != nil)
    }

    @Test("every real payload, and mutations of them, agree with JSONDecoder", .timeLimit(.minutes(5)))
    func fixturesAndMutations() async throws {
        try #require(ShellyFixtures.available, "skipped: \(ShellyFixtures.folder.path) is absent (public payloads, see README)")
        var rng = SeededGenerator(seed: 0x15_0AD3)
        for name in ShellyFixtures.allNames() {
            let bytes = try ShellyFixtures.bytes(name)
            #expect(JSONReader.parse(bytes) != nil, "\(name)")
            Self.expectSameAsReference(bytes, name)
            for round in 0..<40 {
                let mutated = PayloadMutator.mutate(bytes, using: &rng)
                // Bodies the preflight stops never reach either parser.
                guard (try? JSONPreflight.check(mutated)) != nil else { continue }
                Self.expectSameAsReference(mutated, "\(name) mutation \(round)")
            }
            await Task.yield()
        }
    }
}

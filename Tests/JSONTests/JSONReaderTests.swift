import Foundation
import TestSupport
import Testing

@testable import JSON

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
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("integers stay integers up to 64 bits; beyond, and with fraction or exponent, they are doubles")
    func integers() {
        #expect(JSONValue.parse(Array("1735689600".utf8)) == .integer(1_735_689_600))
        #expect(JSONValue.parse(Array("-9223372036854775808".utf8)).map { if case .integer(Int64.min) = $0 { true } else { false } } == true)
        #expect(JSONValue.parse(Array("9223372036854775808".utf8)).map { if case .double = $0 { true } else { false } } == true)
        #expect(JSONValue.parse(Array("2.0".utf8))?.integer == 2)
        #expect(JSONValue.parse(Array("1e300".utf8))?.integer == nil)
        #expect(JSONValue.parse(Array("2.5".utf8))?.integer == nil)
        #expect(JSONValue.parse(Array("-0".utf8))?.integer == 0)
    }

    @Test("numbers compare and hash by value, as JSON means them")
    func numericEquality() {
        #expect(JSONValue.integer(1) == .double(1.0))
        #expect(JSONValue.integer(1) != .double(1.5))
        #expect(JSONValue.integer(Int64.max) != .double(9.223372036854775807e18))
        #expect(Set([JSONValue.integer(3), .double(3.0), .double(-0.0), .integer(0)]).count == 2)
    }

    @Test("a value round-trips through Codable unchanged")
    func codable() throws {
        let text = #"{"a":[1,2.5,null,true,"x"],"b":{"c":-7}}"#
        let value = try #require(JSONValue.parse(Array(text.utf8)))
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: encoded) == value)
        #expect(value["a"]?[1]?.number == 2.5 && value["b"]?["c"]?.integer == -7 && value["a"]?[3]?.bool == true)
        #expect(value["a"]?.kindName == "an array" && value["missing"] == nil)
    }
}

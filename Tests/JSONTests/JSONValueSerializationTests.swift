import Testing

@testable import JSON

/// Literals and the compact writer: what the runner and the cluster simulator send.
@Suite("JSON literals and serialization")
struct JSONValueSerializationTests {
    @Test("literals build the tree; serialized text is compact, sorted, escaped, and reads back the same")
    func roundTrip() throws {
        let value: JSONValue = [
            "b": [1, 2.5, true, "x"], "a": ["nested": ["quote\"back\\slash": "line\nbreak\ttab\u{01}"]], "c": .null,
        ]
        let text = String(decoding: value.serialized, as: UTF8.self)
        #expect(text == #"{"a":{"nested":{"quote\"back\\slash":"line\nbreak\ttab\u0001"}},"b":[1,2.5,true,"x"],"c":null}"#)
        #expect(JSONValue.parse(value.serialized) == value)
        let big: JSONValue = [.double(1e300), .integer(Int64.min), .double(-0.5)]
        #expect(JSONValue.parse(big.serialized) == big)
    }
}

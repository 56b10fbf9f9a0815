import JSON

extension ShellyParser {
    /// Parses a plug's body; throws `ShellyPayloadError` for anything that is not JSON (reason
    /// `parse`) and for JSON-shaped bodies without believable numbers: cut off, `NaN`,
    /// `Infinity`, numbers beyond `Double` (reason `invalid`). Bodies above 256 KiB or nested
    /// deeper than 64 levels never reach the parser.
    static func json(_ bytes: [UInt8]) throws(ShellyPayloadError) -> JSONValue {
        try JSONPreflight.check(bytes)
        guard let value = JSONValue.parse(bytes) else {
            throw ShellyPayloadError("not JSON (\(bytes.count) bytes)")
        }
        return value
    }
}

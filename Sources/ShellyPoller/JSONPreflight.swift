/// One linear pass over a plug's body before `JSONReader` sees it. It bounds the work the
/// parser may do (size, nesting depth: the parser recurses once per level) and tells apart
/// bodies that are JSON-shaped but carry no believable number (cut off in transit, `NaN`,
/// `Infinity`, `1e999`) from bodies that are not JSON at all: the first are counted as
/// `invalid`, like any other unbelievable measurement, the second as `parse`.
enum JSONPreflight {
    /// A Shelly status is a few KiB; `PlugSession` already stops reading a body at this size.
    static let maxBytes = PlugSession.maxBodyBytes
    /// Real payloads nest 4 levels deep; 64 leaves room and keeps parsing shallow.
    static let maxDepth = 64

    /// Throws for a body that must not reach the parser; returns for everything else
    /// (including non-JSON, which the parser then rejects).
    static func check(_ bytes: [UInt8]) throws(ShellyPayloadError) {
        guard bytes.count <= maxBytes else {
            throw ShellyPayloadError("body of \(bytes.count) bytes, larger than \(maxBytes)", reason: .invalid)
        }
        var index = 0
        while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
        guard index < bytes.count else { throw ShellyPayloadError("empty body") }
        // Only bodies that open an object or array are JSON-shaped; anything else (HTML, plain
        // text) is left for the parser to refuse as `parse`.
        guard bytes[index] == UInt8(ascii: "{") || bytes[index] == UInt8(ascii: "[") else { return }
        var depth = 0
        var inString = false
        var escaped = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                guard depth <= maxDepth else {
                    throw ShellyPayloadError("JSON nested deeper than \(maxDepth) levels")
                }
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                // More closing than opening brackets: not JSON; the parser says so.
                guard depth >= 0 else { return }
                index += 1
            case UInt8(ascii: "\""):
                inString = true
                index += 1
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "A")...UInt8(ascii: "Z"):
                let start = index
                index += 1
                while index < bytes.count, isTokenByte(bytes[index]) { index += 1 }
                try checkToken(bytes[start..<index], at: start)
            default:
                index += 1
            }
        }
        if inString || depth > 0 {
            throw ShellyPayloadError("JSON cut off after \(bytes.count) bytes", reason: .invalid)
        }
    }

    /// A bare word or number outside strings: `true`, `false`, `null` and finite numbers pass;
    /// `NaN`, `Infinity` and numbers beyond `Double` are refused as `invalid`. Called for every
    /// number of every poll, so the common case (a plain decimal) is decided from the bytes.
    private static func checkToken(_ token: ArraySlice<UInt8>, at offset: Int) throws(ShellyPayloadError) {
        var word = token
        while word.first == UInt8(ascii: "-") { word = word.dropFirst() }
        if isNonFiniteWord(word) {
            let text = String(decoding: token.prefix(32), as: UTF8.self)
            throw ShellyPayloadError("non-finite number \(text) at byte \(offset)", reason: .invalid)
        }
        // Words (`true`, `false`, `null`, or not JSON at all) are left to the parser.
        guard let first = token.first, first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return
        }
        guard token.count < 400 else {
            throw ShellyPayloadError("number of \(token.count) characters at byte \(offset)", reason: .invalid)
        }
        // Plain decimals (digits, sign, point) of fewer than 300 characters cannot leave
        // Double's range; only exponents (and other letters) and long ones need converting.
        let plainDecimal = token.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        guard token.count >= 300 || !plainDecimal else { return }
        if let value = Double(String(decoding: token, as: UTF8.self)), !value.isFinite {
            let text = String(decoding: token.prefix(32), as: UTF8.self)
            throw ShellyPayloadError("number \(text) at byte \(offset) is beyond range", reason: .invalid)
        }
    }

    /// `nan`, `inf` or `infinity`, in any case.
    private static func isNonFiniteWord(_ word: ArraySlice<UInt8>) -> Bool {
        guard word.count == 3 || word.count == 8 else { return false }
        func lowered(_ byte: UInt8) -> UInt8 { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte }
        let lower = word.map(lowered)
        return lower.elementsEqual("nan".utf8) || lower.elementsEqual("inf".utf8) || lower.elementsEqual("infinity".utf8)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

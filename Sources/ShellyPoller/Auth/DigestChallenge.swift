import EnergyModel
import JSON

/// A `WWW-Authenticate: Digest ...` challenge (RFC 7616), as parsed from a 401 answer or a
/// WebSocket error frame: realm, nonce, opaque, qop, algorithm and whether the previous
/// nonce merely went stale.
public struct DigestChallenge: Sendable, Equatable {
    /// The protection space; the Shelly device id.
    public var realm: String
    /// The server nonce (Shelly firmware 2.x: base64 with `=` padding).
    public var nonce: String
    /// Sent back unchanged when present.
    public var opaque: String?
    /// The qop options offered, lower-cased (`auth`, `auth-int`); empty when none.
    public var qop: [String]
    /// The algorithm, upper-cased as RFC 7616 names it; `MD5` when the challenge names none.
    public var algorithm: String
    /// `stale=true`: the credentials were right but the nonce expired; retry with the new one.
    public var stale: Bool
    /// The nonce count a WebSocket challenge names (`nc`, 1 on Shelly devices).
    public var frameCount: Int64 = 1

    /// Creates a challenge.
    public init(realm: String, nonce: String, opaque: String? = nil, qop: [String] = ["auth"], algorithm: String = "SHA-256", stale: Bool = false) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.qop = qop
        self.algorithm = algorithm
        self.stale = stale
    }

    /// The challenge in the `message` of a WebSocket RPC error frame with code 401, a JSON
    /// object text: `{"auth_type":"digest","nonce":1625038762,"nc":1,"realm":"...",
    /// "algorithm":"SHA-256"}` (firmware 2.x: a base64 nonce string, an `opaque`, `stale`).
    public static func parse(frameMessage message: String) -> DigestChallenge? {
        guard let json = JSONValue.parse(Array(message.utf8)), json["auth_type"]?.string?.lowercased() == "digest",
            let realm = json["realm"]?.string
        else { return nil }
        let nonce: String
        switch json["nonce"] {
        case .string(let text)?: nonce = text
        case .integer(let number)?: nonce = String(number)
        default: return nil
        }
        var challenge = DigestChallenge(
            realm: realm, nonce: nonce, opaque: json["opaque"]?.string, qop: ["auth"],
            algorithm: (json["algorithm"]?.string ?? "MD5").uppercased(), stale: json["stale"]?.bool ?? false)
        challenge.frameCount = json["nc"]?.integer ?? 1
        return challenge
    }

    /// The Digest challenge in a `WWW-Authenticate` value, which may list several challenges
    /// (`Basic realm="x", Digest realm="y", nonce="z"`); parameters in any order, names in any
    /// case, values quoted (with `\` escapes, `,` and `=` inside) or bare, any whitespace.
    /// Nil when there is no Digest challenge or it lacks a realm or a nonce.
    public static func parse(_ header: String) -> DigestChallenge? {
        var scanner = Scanner(Array(header.utf8))
        var inDigest = false
        var parameters: [String: String] = [:]
        while let token = scanner.token() {
            if scanner.consume(UInt8(ascii: "=")) {
                let value = scanner.value()
                if inDigest, parameters[token.lowercased()] == nil { parameters[token.lowercased()] = value }
            } else {
                // A token not followed by `=` starts a new challenge.
                if inDigest { break }
                inDigest = token.lowercased() == "digest"
            }
            _ = scanner.consume(UInt8(ascii: ","))
        }
        guard let realm = parameters["realm"], let nonce = parameters["nonce"], !nonce.isEmpty else { return nil }
        let qop = (parameters["qop"] ?? "").split(separator: ",").map { String($0).trimmingSpaces().lowercased() }
            .filter { !$0.isEmpty }
        return DigestChallenge(
            realm: realm,
            nonce: nonce,
            opaque: parameters["opaque"],
            qop: qop,
            algorithm: (parameters["algorithm"] ?? "MD5").uppercased(),
            stale: parameters["stale"]?.lowercased() == "true"
        )
    }

    /// A byte scanner for the RFC 7235 grammar.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }

        mutating func skipSpace() {
            while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        }

        /// A token (anything up to whitespace, `=` or `,`), or nil at the end.
        mutating func token() -> String? {
            skipSpace()
            while index < bytes.count, bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipSpace()
            }
            let start = index
            while index < bytes.count, !Self.isSpace(bytes[index]), bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ",") {
                index += 1
            }
            guard index > start else { return nil }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A quoted string (unescaped) or a bare value up to the next comma.
        mutating func value() -> String {
            skipSpace()
            guard index < bytes.count else { return "" }
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                var decoded: [UInt8] = []
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count { index += 1 }
                    decoded.append(bytes[index])
                    index += 1
                }
                index = min(index + 1, bytes.count)
                return String(decoding: decoded, as: UTF8.self)
            }
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
            var end = index
            while end > start, Self.isSpace(bytes[end - 1]) { end -= 1 }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }
}

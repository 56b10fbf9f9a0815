import Crypto
import EnergyModel
import Synchronization

/// The client side of a plug's Digest authentication (RFC 7616), kept across polls the way
/// Shelly firmware 2.x expects: the last challenge is remembered, and every request is sent
/// pre-authenticated with the same nonce and a rising `nc` (00000001, 00000002, ...). A new
/// nonce is asked for only when the device says the old one is stale or unknown, never once
/// per poll: the device has 32 nonce slots and throttles clients that keep asking.
///
/// Only SHA-256 (and SHA-256-sess) are used unless the plug's configuration allows MD5.
/// `Sendable` through a `Mutex`: a plug's polls are sequential, the lock is uncontended.
public final class DigestAuthenticator: Sendable {
    /// The state of one nonce.
    private struct State {
        var challenge: DigestChallenge?
        var count: UInt32 = 0
        /// The `auth` object of WebSocket frames for `challenge`, built once.
        var frameAuth: String?
        /// H(user:realm:password) for the realm it was computed for.
        var ha1: (realm: String, algorithm: String, value: String)?
    }

    /// Why a challenge cannot be answered.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// One line, never containing the password.
        public var description: String
    }

    private let username: String
    private let password: String
    private let allowMD5: Bool
    private let state = Mutex(State())

    /// An authenticator for `username` and `password`; `allowMD5` admits devices that ask
    /// for MD5 (or name no algorithm, which means MD5).
    public init(username: String, password: String, allowMD5: Bool = false) {
        self.username = username
        self.password = password
        self.allowMD5 = allowMD5
    }

    /// The nonce in use, if any.
    public var nonce: String? { state.withLock { $0.challenge?.nonce } }

    /// Takes a new challenge: the next request uses its nonce with `nc` 1. Refuses an
    /// algorithm other than SHA-256 unless MD5 is allowed, and qop other than `auth`.
    public func accept(_ challenge: DigestChallenge) throws(Refusal) {
        let hash = Self.hashName(challenge.algorithm)
        guard hash == "SHA-256" || (hash == "MD5" && allowMD5) else {
            let hint = hash == "MD5" ? " (allowMD5: true in the plug's configuration accepts it)" : ""
            throw Refusal(description: "device asks for Digest \(challenge.algorithm); only SHA-256 is used\(hint)")
        }
        guard challenge.qop.isEmpty || challenge.qop.contains("auth") else {
            throw Refusal(description: "device offers qop \(challenge.qop.joined(separator: ",")); only auth is supported")
        }
        state.withLock { state in
            state.challenge = challenge
            state.count = 0
            state.frameAuth = nil
        }
    }

    /// Forgets the nonce (a device that rebooted or was replaced starts over).
    public func reset() {
        state.withLock { $0.challenge = nil }
    }

    /// The `Authorization` value for `method uri` with the next `nc` of the current nonce, or
    /// nil before the first challenge.
    public func authorization(method: String, uri: String, cnonce: String = DigestAuthenticator.makeClientNonce()) -> String? {
        guard let (challenge, nc, response) = next(method: method, uri: uri, cnonce: cnonce) else { return nil }
        var fields = [
            "username=\"\(Self.quoted(username))\"", "realm=\"\(Self.quoted(challenge.realm))\"",
            "nonce=\"\(Self.quoted(challenge.nonce))\"", "uri=\"\(Self.quoted(uri))\"", "algorithm=\(challenge.algorithm)",
            "response=\"\(response)\"",
        ]
        if !challenge.qop.isEmpty { fields += ["qop=auth", "nc=\(nc)", "cnonce=\"\(cnonce)\""] }
        if let opaque = challenge.opaque { fields.append("opaque=\"\(Self.quoted(opaque))\"") }
        return "Digest " + fields.joined(separator: ", ")
    }

    /// The `auth` object of a WebSocket RPC frame for the current nonce, or nil before the
    /// first challenge. Shelly devices expect it built once per challenge and sent with every
    /// frame: `response` is H(HA1:nonce:nc:cnonce:auth:H("dummy_method:dummy_uri")) with the
    /// `nc` of the challenge.
    public func frameAuth(cnonce: String = DigestAuthenticator.makeClientNonce()) -> String? {
        state.withLock { state -> String? in
            if let cached = state.frameAuth { return cached }
            guard let challenge = state.challenge else { return nil }
            let hash = Self.hashName(challenge.algorithm)
            let ha1 = Self.hex(hash, "\(username):\(challenge.realm):\(password)")
            let ha2 = Self.hex(hash, "dummy_method:dummy_uri")
            let response = Self.hex(hash, "\(ha1):\(challenge.nonce):\(challenge.frameCount):\(cnonce):auth:\(ha2)")
            var fields = [
                "\"realm\":\"\(Self.jsonEscaped(challenge.realm))\"", "\"username\":\"\(Self.jsonEscaped(username))\"",
                "\"nonce\":" + (Self.isInteger(challenge.nonce) ? challenge.nonce : "\"\(Self.jsonEscaped(challenge.nonce))\""),
                "\"cnonce\":\"\(cnonce)\"", "\"response\":\"\(response)\"", "\"algorithm\":\"\(challenge.algorithm)\"",
            ]
            if let opaque = challenge.opaque { fields.append("\"opaque\":\"\(Self.jsonEscaped(opaque))\"") }
            let object = "{" + fields.joined(separator: ",") + "}"
            state.frameAuth = object
            return object
        }
    }

    private static func isInteger(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 18 && text.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func jsonEscaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "\"" || $0 == "\\" || $0.asciiValue.map { $0 < 0x20 } == true }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The next counter and response for the current nonce; advances the counter.
    func next(method: String, uri: String, cnonce: String) -> (DigestChallenge, String, String)? {
        state.withLock { state -> (DigestChallenge, String, String)? in
            guard let challenge = state.challenge else { return nil }
            state.count &+= 1
            let nc = Self.hex8(state.count)
            let hash = Self.hashName(challenge.algorithm)
            let ha1: String
            if let cached = state.ha1, cached.realm == challenge.realm, cached.algorithm == hash {
                ha1 = cached.value
            } else {
                ha1 = Self.hex(hash, "\(username):\(challenge.realm):\(password)")
                state.ha1 = (challenge.realm, hash, ha1)
            }
            let sessionKey = challenge.algorithm.hasSuffix("-SESS") ? Self.hex(hash, "\(ha1):\(challenge.nonce):\(cnonce)") : ha1
            let ha2 = Self.hex(hash, "\(method):\(uri)")
            let response =
                challenge.qop.isEmpty
                ? Self.hex(hash, "\(sessionKey):\(challenge.nonce):\(ha2)")
                : Self.hex(hash, "\(sessionKey):\(challenge.nonce):\(nc):\(cnonce):auth:\(ha2)")
            return (challenge, nc, response)
        }
    }

    /// A fresh client nonce: 16 random hex digits.
    public static func makeClientNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex16(generator.next())
    }

    /// `SHA-256` for SHA-256 and SHA-256-SESS, `MD5` for MD5 and MD5-SESS, else the name.
    static func hashName(_ algorithm: String) -> String {
        algorithm.hasSuffix("-SESS") ? String(algorithm.dropLast(5)) : algorithm
    }

    static func hex(_ hash: String, _ text: String) -> String {
        let bytes: [UInt8] = hash == "MD5" ? Array(Insecure.MD5.hash(data: Array(text.utf8))) : Array(SHA256.hash(data: Array(text.utf8)))
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex8(_ value: UInt32) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 8 - text.count)) + text
    }

    static func hex16(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - text.count)) + text
    }

    /// A value for a quoted-string: `"` and `\` escaped.
    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "\"" || $0 == "\\" }) else { return text }
        var out = ""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

import Crypto
import EnergyModel
import Foundation
import Synchronization

/// The server side of a simulated Gen2+ device's Digest authentication, as the firmware
/// generations do it.
///
/// Firmware 1.x: a stateless nonce (its issue time in hex) accepted for a minute, `nc`
/// unchecked; every client that asks anew each poll gets by.
///
/// Firmware 2.x (RFC 7616 enforced, as reported from the field and in Shelly's
/// documentation): 32 nonce slots; a nonce lives up to `nonceLifetime` (an hour) or 30,000
/// requests; `nc` counts from 00000001 per nonce and must rise; an expired nonce is answered
/// `401` with `stale=true`; nonces are base64 with `=` padding and come with an `opaque`;
/// asking for a new nonce while no slot can be freed starts a 2 s throttle in which every such
/// request gets `429` "Too many failed authentication attempts".
final class DigestServer: Sendable {
    /// The simulated firmware line.
    enum Firmware: Int, Sendable {
        case v1 = 1
        case v2 = 2
    }

    /// What to do with a request.
    enum Verdict: Sendable, Equatable {
        /// Authenticated: serve it.
        case allowed
        /// `401` with this `WWW-Authenticate` value.
        case challenge(String)
        /// `429`: throttled.
        case throttled
    }

    /// Counters of what the device answered, for tests and benchmarks.
    struct Statistics: Sendable, Equatable {
        var allowed = 0
        var challenged = 0
        var stale = 0
        var throttled = 0
        var noncesIssued = 0
    }

    private struct Slot {
        var issued: Double
        var uses = 0
        var lastCount: UInt64 = 0
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var throttledUntil = -Double.infinity
        var statistics = Statistics()
    }

    static let slotCount = 32
    static let maxUses = 30_000
    static let throttleSeconds = 2.0

    let realm: String
    let password: String
    let firmware: Firmware
    let nonceLifetime: Double
    /// The algorithm the device asks for (`SHA-256`; `MD5` for the `md5-digest` fault).
    let algorithm: String
    let opaque: String
    private let state = Mutex(State())

    init(realm: String, password: String, firmware: Firmware, nonceLifetime: Double, algorithm: String = "SHA-256") {
        self.realm = realm
        self.password = password
        self.firmware = firmware
        self.nonceLifetime = nonceLifetime
        self.algorithm = algorithm
        self.opaque = Self.randomBase64(12)
    }

    var statistics: Statistics { state.withLock { $0.statistics } }

    /// Decides on a request with `authorization` (the header value, if any) at unix time `now`.
    func check(authorization: String?, method: String, uri: String, now: Double) -> Verdict {
        let fields = authorization.flatMap(Self.digestFields)
        switch firmware {
        case .v1: return checkV1(fields, method: method, uri: uri, now: now)
        case .v2: return checkV2(fields, method: method, uri: uri, now: now)
        }
    }

    private func checkV1(_ fields: [String: String]?, method: String, uri: String, now: Double) -> Verdict {
        if let fields, let nonce = fields["nonce"], let issued = Int64(nonce, radix: 16),
            now - Double(issued) < 60, now - Double(issued) > -5, valid(fields, method: method, uri: uri)
        {
            state.withLock { $0.statistics.allowed += 1 }
            return .allowed
        }
        let nonce = String(Int64(clampingRounding: now, .down), radix: 16)
        state.withLock {
            $0.statistics.challenged += 1
            $0.statistics.noncesIssued += 1
        }
        return .challenge("Digest qop=\"auth\", realm=\"\(realm)\", nonce=\"\(nonce)\", algorithm=\(algorithm)")
    }

    private func checkV2(_ fields: [String: String]?, method: String, uri: String, now: Double) -> Verdict {
        state.withLock { state -> Verdict in
            var stale = false
            if let fields, let nonce = fields["nonce"], var slot = state.slots[nonce] {
                let correct = valid(fields, method: method, uri: uri)
                if now - slot.issued > nonceLifetime || slot.uses >= Self.maxUses {
                    state.slots[nonce] = nil
                    stale = correct
                } else if correct, let count = fields["nc"].flatMap({ UInt64($0, radix: 16) }), count > slot.lastCount {
                    slot.lastCount = count
                    slot.uses += 1
                    state.slots[nonce] = slot
                    state.statistics.allowed += 1
                    return .allowed
                }
            }
            guard let nonce = issueNonce(&state, now: now, stale: stale) else { return .throttled }
            return .challenge(
                "Digest qop=\"auth\", realm=\"\(realm)\", nonce=\"\(nonce)\", opaque=\"\(opaque)\", algorithm=\(algorithm)"
                    + (stale ? ", stale=true" : ""))
        }
    }

    /// A new nonce from a free slot or an expired one; nil (and the 2 s throttle) when no
    /// slot can be freed, or while the throttle lasts.
    private func issueNonce(_ state: inout State, now: Double, stale: Bool) -> String? {
        if firmware == .v1 {
            // Firmware 1.x: stateless nonces, no slots, no throttle.
            state.statistics.challenged += 1
            state.statistics.noncesIssued += 1
            return String(Int64(clampingRounding: now, .down), radix: 16)
        }
        guard now >= state.throttledUntil else {
            state.statistics.throttled += 1
            return nil
        }
        if state.slots.count >= Self.slotCount {
            state.slots = state.slots.filter { now - $0.value.issued <= nonceLifetime && $0.value.uses < Self.maxUses }
        }
        guard state.slots.count < Self.slotCount else {
            state.throttledUntil = now + Self.throttleSeconds
            state.statistics.throttled += 1
            return nil
        }
        let nonce = Self.randomBase64(16)
        state.slots[nonce] = Slot(issued: now)
        state.statistics.challenged += 1
        state.statistics.noncesIssued += 1
        if stale { state.statistics.stale += 1 }
        return nonce
    }

    /// The WebSocket channel's rule (Shelly RPC frames): the `auth` object of a request frame
    /// (`realm`, `username`, `nonce`, `cnonce`, `response`, `algorithm`, on firmware 2 also
    /// `opaque`), built once from a 401 error frame's challenge and reused for every later
    /// frame of the connection; its response is H(ha1:nonce:nc:cnonce:auth:H(dummy_method:dummy_uri))
    /// with the `nc` the challenge named. Returns nil when allowed, else the error frame's
    /// code and message (401 with the challenge as a JSON string, or 429).
    func checkFrame(auth: [String: String]?, now: Double) -> (code: Int, message: String)? {
        state.withLock { state -> (code: Int, message: String)? in
            var stale = false
            if let auth, let nonce = auth["nonce"] {
                let correct = validFrame(auth)
                if var slot = state.slots[nonce] {
                    if now - slot.issued > nonceLifetime || slot.uses >= Self.maxUses {
                        state.slots[nonce] = nil
                        stale = correct
                    } else if correct {
                        slot.uses += 1
                        state.slots[nonce] = slot
                        state.statistics.allowed += 1
                        return nil
                    }
                } else if firmware == .v1, correct, let issued = Int64(nonce, radix: 16), now - Double(issued) < 60 {
                    state.statistics.allowed += 1
                    return nil
                }
            }
            guard let nonce = issueNonce(&state, now: now, stale: stale) else {
                return (429, "Too many failed authentication attempts")
            }
            var challenge = "{\"auth_type\":\"digest\",\"nonce\":\"\(nonce)\",\"nc\":1,\"realm\":\"\(realm)\",\"algorithm\":\"\(algorithm)\""
            if firmware == .v2 { challenge += ",\"opaque\":\"\(opaque)\"" }
            if stale { challenge += ",\"stale\":true" }
            return (401, challenge + "}")
        }
    }

    private func validFrame(_ auth: [String: String]) -> Bool {
        guard auth["username"] == "admin", auth["realm"] == realm, let nonce = auth["nonce"], let cnonce = auth["cnonce"],
            let response = auth["response"], (auth["algorithm"] ?? "MD5").uppercased() == algorithm
        else { return false }
        if firmware == .v2, auth["opaque"] != opaque { return false }
        let ha1 = hash("admin:\(realm):\(password)")
        let ha2 = hash("dummy_method:dummy_uri")
        return hash("\(ha1):\(nonce):1:\(cnonce):auth:\(ha2)") == response.lowercased()
    }

    /// Whether the fields answer this device's challenge for `method uri` (nonce freshness aside).
    private func valid(_ fields: [String: String], method: String, uri: String) -> Bool {
        guard let username = fields["username"], let realm = fields["realm"], let nonce = fields["nonce"],
            let requestURI = fields["uri"], let response = fields["response"], let nc = fields["nc"],
            let cnonce = fields["cnonce"], fields["qop"] == "auth",
            username == "admin", realm == self.realm, requestURI == uri,
            (fields["algorithm"] ?? "MD5").uppercased() == algorithm
        else { return false }
        if firmware == .v2, fields["opaque"] != opaque { return false }
        let ha1 = hash("\(username):\(realm):\(password)")
        let ha2 = hash("\(method):\(requestURI)")
        return hash("\(ha1):\(nonce):\(nc):\(cnonce):auth:\(ha2)") == response.lowercased()
    }

    private func hash(_ text: String) -> String {
        let bytes: [UInt8] = algorithm == "MD5" ? Array(Insecure.MD5.hash(data: Data(text.utf8))) : Array(SHA256.hash(data: Data(text.utf8)))
        // Hex by table: thousands of plugs answer a request a second each.
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func randomBase64(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    /// The parameters of a `Digest a="b", c=d` header, or nil for another scheme.
    static func digestFields(_ header: String) -> [String: String]? {
        guard header.lowercased().hasPrefix("digest ") else { return nil }
        var result: [String: String] = [:]
        var rest = Substring(header.dropFirst(7))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var text = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        text.append(escaped)
                        rest = rest.dropFirst()
                    } else {
                        text.append(character)
                    }
                }
                value = text
                rest = rest.dropFirst()
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            result[key] = value
        }
        return result
    }
}

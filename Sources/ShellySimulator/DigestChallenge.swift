import Crypto
import EnergyModel
import Foundation

/// Server side of HTTP Digest authentication as Shelly Gen2+ devices do it: SHA-256,
/// `qop="auth"`, user `admin`, realm = device id.
struct DigestChallenge: Sendable {
    let realm: String
    let password: String

    /// The `WWW-Authenticate` value for a new challenge. The nonce carries its issue time, so
    /// any nonce younger than a minute is accepted without server-side state.
    func challenge(now: Double) -> String {
        let nonce = String(Int64(clampingRounding: now, .down), radix: 16)
        return "Digest qop=\"auth\", realm=\"\(realm)\", nonce=\"\(nonce)\", algorithm=SHA-256"
    }

    /// Whether `authorization` answers a challenge of this device for `method` and `uri`.
    func verify(authorization: String?, method: String, uri: String, now: Double) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("digest ") else { return false }
        let fields = Self.parameters(String(authorization.dropFirst(7)))
        guard let username = fields["username"], let realm = fields["realm"], let nonce = fields["nonce"],
            let requestURI = fields["uri"], let response = fields["response"], let nc = fields["nc"],
            let cnonce = fields["cnonce"], fields["qop"] == "auth",
            username == "admin", realm == self.realm, requestURI == uri,
            let issued = Int64(nonce, radix: 16), now - Double(issued) < 60, now - Double(issued) > -5
        else { return false }
        if let algorithm = fields["algorithm"], algorithm.uppercased() != "SHA-256" { return false }
        let ha1 = Self.sha256("\(username):\(realm):\(password)")
        let ha2 = Self.sha256("\(method):\(requestURI)")
        let expected = Self.sha256("\(ha1):\(nonce):\(nc):\(cnonce):auth:\(ha2)")
        return expected == response.lowercased()
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Parses `a="b", c=d` parameter lists.
    static func parameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(text)
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = String(rest[..<end])
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
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

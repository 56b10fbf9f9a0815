import ShellyPoller
import Testing

@testable import ShellySimulator

/// The simulated firmware-2 Digest rules, driven with the poller's own client side.
@Suite("Simulated Digest server")
struct DigestServerTests {
    static let uri = "/rpc/Switch.GetStatus?id=0"

    static func server(firmware: DigestServer.Firmware = .v2, lifetime: Double = 3600, algorithm: String = "SHA-256") -> DigestServer {
        DigestServer(realm: "shellyplusplugs-aabbcc", password: "pw", firmware: firmware, nonceLifetime: lifetime, algorithm: algorithm)
    }

    /// The challenge in a verdict, parsed by the client.
    static func challenge(_ verdict: DigestServer.Verdict) -> DigestChallenge? {
        guard case .challenge(let header) = verdict else { return nil }
        return DigestChallenge.parse(header)
    }

    @Test("firmware 2: base64 nonces with padding and an opaque; one nonce serves request after request with a rising nc")
    func oneNonce() throws {
        let server = Self.server()
        let challenge = try #require(Self.challenge(server.check(authorization: nil, method: "GET", uri: Self.uri, now: 0)))
        #expect(challenge.nonce.hasSuffix("==") && challenge.nonce.count == 24)
        #expect(challenge.opaque != nil)
        let client = DigestAuthenticator(username: "admin", password: "pw")
        try client.accept(challenge)
        for second in 1...100 {
            let header = client.authorization(method: "GET", uri: Self.uri)
            #expect(server.check(authorization: header, method: "GET", uri: Self.uri, now: Double(second)) == .allowed)
        }
        #expect(server.statistics.noncesIssued == 1 && server.statistics.allowed == 100)
    }

    @Test("firmware 2: a repeated or falling nc, a wrong password or a foreign opaque is challenged anew")
    func strictCounter() throws {
        let server = Self.server()
        let challenge = try #require(Self.challenge(server.check(authorization: nil, method: "GET", uri: Self.uri, now: 0)))
        let client = DigestAuthenticator(username: "admin", password: "pw")
        try client.accept(challenge)
        let first = client.authorization(method: "GET", uri: Self.uri, cnonce: "c")
        #expect(server.check(authorization: first, method: "GET", uri: Self.uri, now: 1) == .allowed)
        #expect(Self.challenge(server.check(authorization: first, method: "GET", uri: Self.uri, now: 2)) != nil, "a replayed nc")
        let wrong = DigestAuthenticator(username: "admin", password: "other")
        try wrong.accept(challenge)
        #expect(Self.challenge(server.check(authorization: wrong.authorization(method: "GET", uri: Self.uri), method: "GET", uri: Self.uri, now: 3)) != nil)
        var foreign = challenge
        foreign.opaque = "somebody-else"
        let stranger = DigestAuthenticator(username: "admin", password: "pw")
        try stranger.accept(foreign)
        #expect(Self.challenge(server.check(authorization: stranger.authorization(method: "GET", uri: Self.uri), method: "GET", uri: Self.uri, now: 4)) != nil)
    }

    @Test("firmware 2: an expired nonce is answered stale=true with a new one")
    func stale() throws {
        let server = Self.server(lifetime: 10)
        let client = DigestAuthenticator(username: "admin", password: "pw")
        try client.accept(try #require(Self.challenge(server.check(authorization: nil, method: "GET", uri: Self.uri, now: 0))))
        #expect(server.check(authorization: client.authorization(method: "GET", uri: Self.uri), method: "GET", uri: Self.uri, now: 9) == .allowed)
        let renewed = try #require(Self.challenge(server.check(authorization: client.authorization(method: "GET", uri: Self.uri), method: "GET", uri: Self.uri, now: 11)))
        #expect(renewed.stale)
        try client.accept(renewed)
        #expect(server.check(authorization: client.authorization(method: "GET", uri: Self.uri), method: "GET", uri: Self.uri, now: 12) == .allowed)
        #expect(server.statistics.stale == 1)
    }

    @Test("firmware 2: a client asking a new nonce for every request fills the 32 slots and is throttled for 2 s")
    func throttle() {
        let server = Self.server()
        var throttledAt: Double?
        for request in 0..<40 {
            let now = Double(request) * 0.1
            // What libcurl does: an unauthenticated request, then one with the fresh nonce.
            if server.check(authorization: nil, method: "GET", uri: Self.uri, now: now) == .throttled {
                throttledAt = throttledAt ?? now
            }
        }
        #expect(throttledAt == 3.2, "the 33rd request for a nonce is throttled")
        #expect(server.check(authorization: nil, method: "GET", uri: Self.uri, now: 5.1) == .throttled, "within 2 s of the throttle")
        // Once nonces expire, slots free up again.
        let later = Self.server(lifetime: 5)
        for request in 0..<32 { _ = later.check(authorization: nil, method: "GET", uri: Self.uri, now: Double(request) * 0.01) }
        #expect(later.check(authorization: nil, method: "GET", uri: Self.uri, now: 6) != .throttled)
    }

    @Test("firmware 1: a stateless nonce for a minute, nc unchecked; MD5 when the fault asks for it")
    func firmwareOne() throws {
        let server = Self.server(firmware: .v1)
        let client = DigestAuthenticator(username: "admin", password: "pw")
        try client.accept(try #require(Self.challenge(server.check(authorization: nil, method: "GET", uri: Self.uri, now: 1000))))
        let header = client.authorization(method: "GET", uri: Self.uri, cnonce: "c")
        #expect(server.check(authorization: header, method: "GET", uri: Self.uri, now: 1001) == .allowed)
        #expect(server.check(authorization: header, method: "GET", uri: Self.uri, now: 1002) == .allowed, "a replay passes on firmware 1")
        #expect(server.check(authorization: header, method: "GET", uri: Self.uri, now: 1100) != .allowed, "older than a minute")
        let md5 = Self.server(algorithm: "MD5")
        #expect(Self.challenge(md5.check(authorization: nil, method: "GET", uri: Self.uri, now: 0))?.algorithm == "MD5")
    }
}

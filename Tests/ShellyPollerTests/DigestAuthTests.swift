import Foundation
import Testing
import TestSupport

@testable import ShellyPoller

/// RFC 7616 challenges and responses, with the RFC's own examples.
@Suite("Digest authentication")
struct DigestAuthTests {
    /// RFC 7616 section 3.9.1, the SHA-256 and MD5 challenges of its example.
    static let rfcChallenge = """
        Digest
            realm="http-auth@example.org",
            qop="auth, auth-int",
            algorithm=SHA-256,
            nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        """

    @Test("the RFC 7616 example: quoted values with = and /, lists, whitespace and line breaks")
    func rfcExample() throws {
        let challenge = try #require(DigestChallenge.parse(Self.rfcChallenge))
        #expect(challenge.realm == "http-auth@example.org")
        #expect(challenge.qop == ["auth", "auth-int"])
        #expect(challenge.algorithm == "SHA-256")
        #expect(challenge.nonce == "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v")
        #expect(challenge.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        #expect(!challenge.stale)
    }

    @Test(
        "any order, any case, bare or quoted, escapes, commas and = inside values, several challenges",
        arguments: [
            #"Digest nonce="YWJj==", realm="shellyplusplugs-aabb", qop="auth", algorithm=SHA-256"#,
            #"digest REALM = "shellyplusplugs-aabb" , NONCE=YWJj== , QOP=auth, ALGORITHM=sha-256"#,
            #"Basic realm="x", Digest realm="shellyplusplugs-aabb", nonce="YWJj==", qop="auth", algorithm=SHA-256"#,
            #"Digest realm="shellyplusplugs-aabb",nonce="YWJj==",qop="auth",algorithm="SHA-256", Basic realm="y""#,
            "Digest\trealm=\"shellyplusplugs-aabb\",\n nonce=\"YWJj==\",\tqop=auth, algorithm=SHA-256",
        ]
    )
    func variants(header: String) throws {
        let challenge = try #require(DigestChallenge.parse(header), "\(header)")
        #expect(challenge.realm == "shellyplusplugs-aabb")
        #expect(challenge.nonce == "YWJj==")
        #expect(challenge.qop == ["auth"])
        #expect(challenge.algorithm == "SHA-256")
    }

    @Test("escaped quotes and commas stay inside a quoted value; stale and opaque are read")
    func escapes() throws {
        let challenge = try #require(DigestChallenge.parse(#"Digest realm="a \"b\", c=d", nonce="n=1,2", stale=TRUE, opaque="o""#))
        #expect(challenge.realm == #"a "b", c=d"#)
        #expect(challenge.nonce == "n=1,2")
        #expect(challenge.stale)
        #expect(challenge.opaque == "o")
        #expect(challenge.algorithm == "MD5", "no algorithm means MD5 (RFC 7616 3.3)")
    }

    @Test("no Digest challenge, or one without realm or nonce, is nil", arguments: ["", "Basic realm=\"x\"", "Digest realm=\"x\"", "Digest nonce=\"n\"", "Digest", "Bearer"])
    func refused(header: String) {
        #expect(DigestChallenge.parse(header) == nil)
    }

    @Test("the RFC 7616 example responses, SHA-256 and MD5; nc rises from 00000001 per nonce")
    func rfcResponses() throws {
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
        var challenge = try #require(DigestChallenge.parse(Self.rfcChallenge))
        let sha = DigestAuthenticator(username: "Mufasa", password: "Circle of Life")
        try sha.accept(challenge)
        let header = try #require(sha.authorization(method: "GET", uri: "/dir/index.html", cnonce: cnonce))
        #expect(header.contains(#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#), "\(header)")
        #expect(header.contains("nc=00000001") && header.contains("qop=auth"))
        #expect(header.contains(#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#))
        let second = try #require(sha.authorization(method: "GET", uri: "/dir/index.html", cnonce: cnonce))
        #expect(second.contains("nc=00000002"))
        try sha.accept(challenge)
        #expect(try #require(sha.authorization(method: "GET", uri: "/dir/index.html", cnonce: cnonce)).contains("nc=00000001"))

        challenge.algorithm = "MD5"
        #expect(throws: DigestAuthenticator.Refusal.self) { try sha.accept(challenge) }
        let md5 = DigestAuthenticator(username: "Mufasa", password: "Circle of Life", allowMD5: true)
        try md5.accept(challenge)
        let md5Header = try #require(md5.authorization(method: "GET", uri: "/dir/index.html", cnonce: cnonce))
        #expect(md5Header.contains(#"response="8ca523f5e9506fed4657c9700eebdbec""#), "\(md5Header)")
    }

    @Test("before the first challenge there is nothing to send; the password never shows in a header")
    func noChallenge() throws {
        let digest = DigestAuthenticator(username: "admin", password: "s3cret-pw")
        #expect(digest.authorization(method: "GET", uri: "/rpc/Switch.GetStatus?id=0") == nil)
        try digest.accept(DigestChallenge(realm: "r", nonce: "n"))
        let header = try #require(digest.authorization(method: "GET", uri: "/rpc/Switch.GetStatus?id=0"))
        #expect(!header.contains("s3cret-pw"))
        #expect(throws: DigestAuthenticator.Refusal.self) { try digest.accept(DigestChallenge(realm: "r", nonce: "n", qop: ["auth-int"])) }
    }

    @Test(
        "the WWW-Authenticate header of a real device",
        .enabled(if: ShellyFixtures.testsEnabled, "../shared/fixtures/shelly is absent: the real header is not read")
    )
    func realHeader() throws {
        let json = try JSONSerialization.jsonObject(with: Data(ShellyFixtures.bytes("gen2-rpc-error-examples.json"))) as? [String: Any]
        let header = try #require(json?["http_401_www_authenticate_header_example_shelly1minig3"] as? String)
        let challenge = try #require(DigestChallenge.parse(header))
        #expect(challenge.realm == "shelly1minig3-543204547478")
        #expect(challenge.nonce == "1716556501")
        #expect(challenge.qop == ["auth"])
        #expect(challenge.algorithm == "SHA-256")
    }
}

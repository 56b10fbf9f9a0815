import Foundation
import Testing

@testable import ShellySimulator

@Suite("Simulated load")
struct LoadProfileTests {
    @Test("a flat profile integrates exactly")
    func flat() {
        let profile = LoadProfile(idleWatts: 10, jobWatts: 0)
        #expect(abs(profile.joules(from: 100, to: 160) - 600) < 1e-9)
    }

    @Test("job plateaus reach idle + job power and ramps are continuous")
    func shape() {
        let profile = LoadProfile(idleWatts: 5, jobWatts: 20, jobPeriodSeconds: 60, jobDurationSeconds: 30, rampSeconds: 2)
        #expect(profile.watts(at: 15) == 25)
        #expect(profile.watts(at: 45) == 5)
        var previous = profile.watts(at: 0)
        for step in 1...60_000 {
            let value = profile.watts(at: Double(step) / 1000)
            #expect(abs(value - previous) < 0.05)
            previous = value
        }
    }

    @Test("the integral matches a fine Riemann sum")
    func integral() {
        let profile = LoadProfile.tvpc
        var sum = 0.0
        let steps = 600_000
        for step in 0..<steps {
            sum += profile.watts(at: 1_000 + (Double(step) + 0.5) * 60 / Double(steps))
        }
        let riemann = sum * 60 / Double(steps)
        #expect(abs(profile.joules(from: 1000, to: 1060) - riemann) < 1e-3)
    }

    @Test("the reference nodes have the thesis' orders of magnitude")
    func reference() {
        let times = stride(from: 0.0, to: 600, by: 0.5)
        #expect(times.map(LoadProfile.tvpc.watts).max()! > 150)
        #expect(times.map(LoadProfile.tvpc.watts).min()! > 40)
        #expect(times.map(LoadProfile.wyse.watts).max()! < 14)
        #expect(times.map(LoadProfile.rpi.watts).max()! < 3.1)
    }
}

@Suite("Digest authentication (server side)")
struct DigestChallengeTests {
    @Test("parses the WWW-Authenticate header of a real device")
    func realHeader() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/shelly/gen2-rpc-error-examples.json")
        try #require(FileManager.default.fileExists(atPath: fixtures.path), "../shared/fixtures is absent")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures)) as? [String: Any]
        let header = try #require(json?["http_401_www_authenticate_header_example_shelly1minig3"] as? String)
        #expect(header.hasPrefix("Digest "))
        let fields = DigestChallenge.parameters(String(header.dropFirst(7)))
        #expect(fields["realm"] == "shelly1minig3-543204547478")
        #expect(fields["nonce"] == "1716556501")
        #expect(fields["qop"] == "auth")
        #expect(fields["algorithm"] == "SHA-256")
    }

    @Test("accepts the RFC 7616 response and rejects tampering")
    func verify() {
        let digest = DigestChallenge(realm: "shellyplusplugs-abc", password: "pw")
        let now = 1_700_000_000.0
        let nonce = String(Int64(now), radix: 16)
        let ha1 = DigestChallenge.sha256("admin:shellyplusplugs-abc:pw")
        let ha2 = DigestChallenge.sha256("GET:/rpc/Switch.GetStatus?id=0")
        let response = DigestChallenge.sha256("\(ha1):\(nonce):00000001:c1:auth:\(ha2)")
        let header = "Digest username=\"admin\", realm=\"shellyplusplugs-abc\", nonce=\"\(nonce)\", uri=\"/rpc/Switch.GetStatus?id=0\", algorithm=SHA-256, response=\"\(response)\", qop=auth, nc=00000001, cnonce=\"c1\""
        #expect(digest.verify(authorization: header, method: "GET", uri: "/rpc/Switch.GetStatus?id=0", now: now))
        #expect(!digest.verify(authorization: header, method: "GET", uri: "/rpc/Switch.GetStatus?id=1", now: now))
        #expect(!digest.verify(authorization: header, method: "GET", uri: "/rpc/Switch.GetStatus?id=0", now: now + 120))
        #expect(!digest.verify(authorization: header.replacingOccurrences(of: response, with: String(repeating: "0", count: 64)), method: "GET", uri: "/rpc/Switch.GetStatus?id=0", now: now))
        #expect(!digest.verify(authorization: nil, method: "GET", uri: "/", now: now))
    }
}

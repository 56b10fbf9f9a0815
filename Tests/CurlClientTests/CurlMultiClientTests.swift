import Foundation
import ShellySimulator
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import CurlClient

/// The client against simulated plugs on loopback. Requests run one after another on one
/// client, so each reuses the easy handle the one before left in the pool: nothing of a
/// request may stick to the handle for the next.
@Suite("CurlMultiClient")
struct CurlMultiClientTests {
    private func withPlugs(
        _ specifications: [SimulatedPlug.Specification],
        slowDelay: Duration = .seconds(5),
        _ body: (ShellySimulator, CurlMultiClient) async throws -> Void
    ) async throws {
        let simulator = try await ShellySimulator.start(plugs: specifications, configuration: .init(slowDelay: slowDelay))
        let client = CurlMultiClient()
        do {
            try await body(simulator, client)
        } catch {
            client.shutdown()
            await simulator.shutdown()
            throw error
        }
        client.shutdown()
        await simulator.shutdown()
    }

    private func url(_ simulator: ShellySimulator, _ node: String, _ path: String) -> String {
        "http://127.0.0.1:\(simulator.port(of: node) ?? 1)\(path)"
    }

    @Test("credentials of one request never reach the next on a reused handle", arguments: [1, 2])
    func credentialsDoNotLeak(generation: Int) async throws {
        try await withPlugs([.init(node: "locked", port: 0, generation: generation, profile: .rpi, password: "secret")]) { simulator, client in
            let path = generation == 1 ? "/status" : "/rpc/Switch.GetStatus?id=0"
            let authentication: HTTPAuthentication =
                generation == 1 ? .basic(username: "admin", password: "secret") : .digest(username: "admin", password: "secret")
            for _ in 0..<3 {
                let allowed = try await client.perform(HTTPRequest(url: url(simulator, "locked", path), authentication: authentication))
                #expect(allowed.status == 200)
                let refused = try await client.perform(HTTPRequest(url: url(simulator, "locked", path)))
                #expect(refused.status == 401)
                #expect(refused.header("WWW-Authenticate")?.hasPrefix(generation == 1 ? "Basic" : "Digest") == true)
            }
        }
    }

    @Test("headers of the final response only, looked up case-insensitively and trimmed")
    func headers() async throws {
        try await withPlugs([.init(node: "locked", port: 0, generation: 2, profile: .rpi, password: "pw")]) { simulator, client in
            // Digest: a 401 challenge first, then the 200; only the 200's headers remain.
            let response = try await client.perform(
                HTTPRequest(url: url(simulator, "locked", "/rpc/Switch.GetStatus?id=0"), authentication: .digest(username: "admin", password: "pw"))
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.header("CONNECTION") == "close")
            #expect(response.header("WWW-Authenticate") == nil)
            #expect(response.header("Content-Length") == String(response.body.count))
            #expect(response.headers.map(\.name).contains("content-type"))
            #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() && $0.value == $0.value.trimmingCharacters(in: .whitespaces) })
        }
    }

    @Test("headers built by hand read back the same")
    func handMadeResponse() {
        let response = HTTPResponse(status: 429, headers: [("Retry-After", "7"), ("X-Other", " spaced ")], body: [])
        #expect(response.header("retry-after") == "7")
        #expect(response.header("x-other") == "spaced")
        #expect(response.headers.map(\.name) == ["retry-after", "x-other"])
    }

    @Test("a body over the limit is responseTooLarge, and the handle serves the next request")
    func bodyLimit() async throws {
        try await withPlugs([
            .init(node: "huge", port: 0, generation: 1, profile: .rpi, fault: .hugeBody),
            .init(node: "fine", port: 0, generation: 1, profile: .rpi),
        ]) { simulator, client in
            let request = HTTPRequest(url: url(simulator, "huge", "/status"), timeoutMilliseconds: 10_000, maxResponseBytes: 256 * 1024, receiveBufferBytes: 4096)
            await #expect(throws: HTTPClientError.responseTooLarge(limit: 256 * 1024)) {
                try await client.perform(request)
            }
            let fine = try await client.perform(HTTPRequest(url: url(simulator, "fine", "/status"), receiveBufferBytes: 1024))
            #expect(fine.status == 200)
            #expect(fine.body.count == Int(fine.header("Content-Length") ?? "") ?? -1)
        }
    }

    @Test("headers over the limit are headersTooLarge, and the handle serves the next request")
    func headerLimit() async throws {
        try await withPlugs([
            .init(node: "huge", port: 0, generation: 1, profile: .rpi, fault: .hugeHeaders),
            .init(node: "fine", port: 0, generation: 1, profile: .rpi),
        ]) { simulator, client in
            // 64 KiB of headers in lines of 4 KiB: libcurl takes them, the request's cap does not.
            let request = HTTPRequest(url: url(simulator, "huge", "/status"), timeoutMilliseconds: 10_000, maxHeaderBytes: 16 * 1024)
            await #expect(throws: HTTPClientError.headersTooLarge(limit: 16 * 1024)) {
                try await client.perform(request)
            }
            // The same answer with room for its headers is read whole.
            let roomy = try await client.perform(
                HTTPRequest(url: url(simulator, "huge", "/status"), timeoutMilliseconds: 10_000, maxHeaderBytes: 128 * 1024))
            #expect(roomy.status == 200)
            #expect(roomy.headers.count > 16)
            let fine = try await client.perform(HTTPRequest(url: url(simulator, "fine", "/status")))
            #expect(fine.status == 200)
            #expect(fine.header("Content-Type") == "application/json")
        }
    }

    @Test("timeouts and refused connections map to their errors")
    func failures() async throws {
        // A port bound but not listening, held for the whole test: connections to it are
        // refused, and no other test can take it meanwhile (a port merely closed can be).
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(holder >= 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) }
        }
        let closedPort = Int(UInt16(bigEndian: address.sin_port))
        try await withPlugs([.init(node: "slow", port: 0, generation: 1, profile: .rpi, fault: .slow)]) { simulator, client in
            await #expect(throws: HTTPClientError.timeout) {
                try await client.perform(HTTPRequest(url: url(simulator, "slow", "/status"), timeoutMilliseconds: 300))
            }
            let refused = await #expect(throws: HTTPClientError.self) {
                try await client.perform(HTTPRequest(url: "http://127.0.0.1:\(closedPort)/status", timeoutMilliseconds: 2000))
            }
            if case .connect = refused {} else { Issue.record("expected .connect, got \(String(describing: refused))") }
        }
    }

    @Test("many concurrent transfers on one thread all complete")
    func concurrency() async throws {
        let specifications = (0..<200).map { SimulatedPlug.Specification(node: "n\($0)", port: 0, generation: $0 % 2 == 0 ? 1 : 2, profile: .generic(index: $0)) }
        try await withPlugs(specifications) { simulator, client in
            for _ in 0..<3 {
                let statuses = await withTaskGroup(of: Int.self) { group in
                    for (index, specification) in specifications.enumerated() {
                        let path = index % 2 == 0 ? "/status" : "/rpc/Switch.GetStatus?id=0"
                        let target = url(simulator, specification.node, path)
                        group.addTask { (try? await client.perform(HTTPRequest(url: target, timeoutMilliseconds: 10_000)))?.status ?? -1 }
                    }
                    return await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.count == specifications.count)
                #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
            }
        }
    }

    @Test("after a burst beyond the idle cap the extra handles are released and the next round works")
    func burstReleasesHandles() async throws {
        // Two descriptors per plug (listener and client socket) beside the other suites'.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let count = CurlEventLoop.maxIdle + 64
        let specifications = (0..<count).map {
            SimulatedPlug.Specification(node: "b\($0)", port: 0, generation: 1, profile: .generic(index: $0), fault: .slow)
        }
        try await withPlugs(specifications, slowDelay: .milliseconds(800)) { simulator, client in
            for round in 0..<2 {
                let statuses = await withTaskGroup(of: Int.self) { group in
                    for specification in specifications {
                        let target = url(simulator, specification.node, "/status")
                        group.addTask { (try? await client.perform(HTTPRequest(url: target, timeoutMilliseconds: 20_000)))?.status ?? -1 }
                    }
                    return await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 200 }.count == count, "round \(round): \(statuses.filter { $0 != 200 })")
                // The loop publishes its count after the pass that finished the last transfer.
                let deadline = ContinuousClock.now + .seconds(5)
                while client.easyHandleCount > CurlEventLoop.maxIdle, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(client.easyHandleCount <= CurlEventLoop.maxIdle, "round \(round)")
            }
        }
    }

    @Test("shutdown fails transfers in flight and every later request")
    func shutdown() async throws {
        try await withPlugs([.init(node: "slow", port: 0, generation: 1, profile: .rpi, fault: .slow)]) { simulator, client in
            let target = url(simulator, "slow", "/status")
            let pending = Task { try await client.perform(HTTPRequest(url: target, timeoutMilliseconds: 4000)) }
            try await Task.sleep(for: .milliseconds(200))
            client.shutdown()
            await #expect(throws: HTTPClientError.shutdown) { try await pending.value }
            await #expect(throws: HTTPClientError.shutdown) { try await client.perform(HTTPRequest(url: target)) }
            client.shutdown()  // idempotent
        }
    }

    @Test(
        "numeric hosts are told apart from names",
        arguments: [
            ("http://127.0.0.1:8080/status", true), ("http://192.168.188.128", true), ("https://[::1]:6443/api", true),
            ("http://user:pw@10.0.0.7/x", true), ("http://plug-tvpc.local/status", false), ("https://kubernetes.default.svc", false),
            ("http://127.0.0.1.nip.io/", false), ("not a url", false),
        ]
    )
    func numericHosts(url: String, numeric: Bool) {
        #expect(URLHost.isNumericAddress(url) == numeric)
    }

    @Test(
        "the host of a URL",
        arguments: [
            ("http://127.0.0.1:8080/status", "127.0.0.1"), ("https://[::1]:6443/api", "::1"), ("http://user:p@ss@host:1/x", "host"),
            ("http://name.local?x=1", "name.local"), ("http://name#frag", "name"), ("http://", ""),
        ]
    )
    func hosts(url: String, host: String) {
        #expect(URLHost.host(of: url).map { String(decoding: $0, as: UTF8.self) } == host)
    }
}

import CurlClient
import Foundation
import SchedulerExtender
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The byte budget that bodies in flight and answers waiting for their clients share, and
/// how stalled clients give their share back. Raw sockets play the clients that stall.
@Suite("Extender byte budget")
struct ExtenderBudgetTests {
    /// A filter call for a known profile over `count` node names that no entry serves: about
    /// 12 bytes a name in, 70 bytes a name out (each is listed as failed, with the reason).
    static func filterBody(names count: Int) -> [UInt8] {
        let names = (0..<count).map { "\"node-\($0)\"" }.joined(separator: ",")
        return Array(
            (#"{"Pod":{"metadata":{"name":"p","labels":{"app":"ml-workflow","workload-profile":"training"}}},"NodeNames":["#
                + names + "]}").utf8)
    }

    static func request(_ path: String, _ body: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
        Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(declaredLength ?? body.count)\r\n\r\n".utf8) + body
    }

    @Test("stalled bodies take the budget: a request that does not fit gets 503 at once, and their share returns when they go")
    func stalledBodies() async throws {
        // 64 KiB bodies, 256 KiB in all.
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest, maxBodyBytes: 65_536) { extender in
            let large = Self.filterBody(names: 2_500)  // 30 KB
            let small = Self.filterBody(names: 10)
            #expect(large.count > 28_000 && large.count < 40_000)
            // Four clients send 59 KB of a 60 KB body and stop: 236 KB of the 256 KiB are taken.
            var stalled: [Int32] = []
            defer { for fd in stalled { close(fd) } }
            for index in 0..<4 {
                let fd = try #require(RawSocket.connect(port: extender.port), "connection \(index) refused")
                let body = Self.filterBody(names: 5_000)
                RawSocket.send(fd, Array(Self.request("/scheduler/filter", body, declaredLength: 60_000).prefix(59_000)))
                stalled.append(fd)
            }
            var busy: CurlClient.HTTPResponse?
            let refused = await eventually(within: .seconds(10)) {
                busy = try? await extender.post("/scheduler/filter", large)
                return busy?.status == 503
            }
            #expect(refused, "a 30 KB body found room: \(busy.map { "\($0.status)" } ?? "no answer")")
            let text = busy.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            let oneLine = text == "busy: requests in flight hold all 262144 bytes the extender keeps at once\n"
            #expect(oneLine, "\(text.prefix(200))")
            #expect(try await extender.post("/scheduler/filter", small).status == 200, "a small body still fits")
            #expect(try await extender.metric(#"energy_monitor_extender_requests_total{endpoint="filter",code="503"}"#) ?? 0 >= 1)
            // The stalled clients go away: their bytes come back, and the large body fits again.
            for fd in stalled { close(fd) }
            stalled = []
            let admitted = await eventually(within: .seconds(10)) {
                (try? await extender.post("/scheduler/filter", large))?.status == 200
            }
            #expect(admitted, "the budget was not given back")
        }
    }

    @Test("an answer its client does not read holds the budget only until the stall timeout closes the connection")
    func unreadAnswer() async throws {
        try await withExtender(
            // 10 s of stall timeout: the window in which the answer is held must outlast a probe
            // on a fully loaded machine (a 90 KB body through a debug build).
            knowledgeBase: TestPaths.knowledgeBaseManifest, maxBodyBytes: 100_000, stallTimeout: .seconds(10)
        ) { extender in
            // 5,000 names: a 60 KB call with a 355 KB answer, far more than the sockets between
            // take (the server's send buffer is capped); the client reads none of it.
            let fd = try #require(RawSocket.connect(port: extender.port, receiveBuffer: 1024))
            defer { close(fd) }
            RawSocket.send(fd, Self.request("/scheduler/filter", Self.filterBody(names: 5_000)))
            // A 90 KB call (spaces after a small one) fits the 400 KB budget only while no such
            // answer is held.
            let probe = Self.filterBody(names: 10) + Array(repeating: UInt8(ascii: " "), count: 90_000)
            // The answer has begun to arrive (peeked at, not read) before the probes start, so
            // that no probe takes the room the answer needs.
            let answering = await eventually(within: .seconds(60)) {
                var head = [UInt8](repeating: 0, count: 15)
                let count = recv(fd, &head, head.count, Int32(MSG_PEEK | MSG_DONTWAIT))
                return count == head.count && String(decoding: head, as: UTF8.self) == "HTTP/1.1 200 OK"
            }
            try #require(answering, "the unread call was not answered")
            // While the answer waits for its reader, the probe finds no room ...
            let held = await eventually(within: .seconds(60)) {
                (try? await extender.post("/scheduler/filter", probe))?.status == 503
            }
            #expect(held, "the unread answer did not count against the budget")
            // ... until the stalled write closes the connection (Hummingbird's own idle timeout
            // does not fire while an answer is being written).
            let released = await eventually(within: .seconds(60)) {
                (try? await extender.post("/scheduler/filter", probe))?.status == 200
            }
            #expect(released, "the unread answer still holds the budget")
            #expect(await eventually(within: .seconds(5)) { RawSocket.isClosedByPeer(fd) })
        }
    }

    @Test("an answer that does not fit in the budget is not sent: 503")
    func answerOverBudget() async throws {
        try await withExtender(knowledgeBase: TestPaths.knowledgeBaseManifest, maxBodyBytes: 65_536) { extender in
            // 4,000 names: 48 KB in, 280 KB out, beyond the whole 256 KiB budget.
            let response = try await extender.post("/scheduler/filter", Self.filterBody(names: 4_000))
            #expect(response.status == 503)
            #expect(String(decoding: response.body, as: UTF8.self).hasPrefix("busy: "))
            #expect(try await extender.post("/scheduler/filter", Self.filterBody(names: 2_000)).status == 200)
        }
    }
}

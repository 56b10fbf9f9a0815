import EnergyModel
import Foundation
import Logging
import NIOPosix
import TestSupport
import Testing

@testable import ShellyPoller

/// The lean `ws://` session's framing against a device spoken byte by byte: what RFC 6455
/// asks of a client (masked frames, pongs, close echoes, fragmented messages, the upgrade's
/// proof) and what it must refuse.
@Suite("WebSocket framing", .serialized)
struct WebSocketFramingTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func session(_ device: ScriptedWebSocketDevice) -> EventLoopRPCWebSocket {
        EventLoopRPCWebSocket(
            baseURL: "http://127.0.0.1:\(device.port)", source: "energy-monitor-test", eventLoopGroup: group,
            logger: Logger(label: "test"))
    }

    /// One `Switch.GetStatus` call with `seconds` to go.
    static func call(_ session: EventLoopRPCWebSocket, seconds: Int64 = 10) async -> Result<
        RPCWebSocket.Reply, RPCWebSocket.CallFailure
    > {
        await session.call(
            method: "Switch.GetStatus", params: "{\"id\":0}", auth: nil,
            deadline: MonotonicClock.nowNanoseconds() + seconds * 1_000_000_000)
    }

    /// The watts of a reply, or nil when the call failed.
    static func watts(_ result: Result<RPCWebSocket.Reply, RPCWebSocket.CallFailure>) -> Double? {
        guard case .success(let reply) = result else { return nil }
        return reply.frame["result"]?["apower"]?.number
    }

    @Test("request frames are masked text frames carrying the call; the upgrade asks for /rpc with a key")
    func requestFrames() async throws {
        let device = try await ScriptedWebSocketDevice.start(.plain)
        let session = Self.session(device)
        for _ in 0..<3 { #expect(Self.watts(await Self.call(session)) == 42.5) }
        session.close()
        let requests = device.frames.filter { $0.opcode == 0x1 }
        #expect(requests.count == 3)
        #expect(requests.allSatisfy { $0.masked && $0.fin })
        let ids = requests.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any])?["id"] as? Int
        }
        #expect(Set(ids).count == 3, "every call has its own id: \(ids)")
        let first = try #require(requests.first)
        let text = String(decoding: first.payload, as: UTF8.self)
        #expect(text.contains("\"method\":\"Switch.GetStatus\"") && text.contains("\"src\":\"energy-monitor-test\""))
        #expect(device.connections == 1)
        let head = try #require(device.upgradeRequests.first)
        #expect(head.hasPrefix("GET /rpc HTTP/1.1\r\n"))
        #expect(head.lowercased().contains("sec-websocket-version: 13"))
        #expect(head.lowercased().contains("sec-websocket-key: "))
        await device.shutdown()
    }

    @Test("a 101 whose Sec-WebSocket-Accept does not prove the key is refused as no WebSocket")
    func wrongAccept() async throws {
        let device = try await ScriptedWebSocketDevice.start(.wrongAccept)
        let session = Self.session(device)
        let result = await Self.call(session)
        guard case .failure(let failure) = result else {
            Issue.record("a device that cannot prove the key was trusted")
            return
        }
        #expect(failure == .upgradeRefused)
        #expect(device.frames.isEmpty, "no request frame went to it")
        session.close()
        await device.shutdown()
    }

    @Test("every ping is answered with a masked pong carrying its payload, and the reply still arrives")
    func pings() async throws {
        let device = try await ScriptedWebSocketDevice.start(.pingFirst)
        let session = Self.session(device)
        for _ in 0..<3 { #expect(Self.watts(await Self.call(session)) == 42.5) }
        #expect(
            await eventually {
                device.frames.filter { $0.opcode == 0xA }.count == 3
            })
        let pongs = device.frames.filter { $0.opcode == 0xA }
        #expect(pongs.map { String(decoding: $0.payload, as: UTF8.self) } == ["probe-1", "probe-2", "probe-3"])
        #expect(pongs.allSatisfy { $0.masked && $0.fin })
        #expect(device.connections == 1)
        session.close()
        await device.shutdown()
    }

    @Test("a reply in fragments with a ping between them and a binary message before is put together")
    func fragments() async throws {
        let device = try await ScriptedWebSocketDevice.start(.fragmented)
        let session = Self.session(device)
        for _ in 0..<3 {
            let result = await Self.call(session)
            #expect(Self.watts(result) == 42.5, "\(result)")
        }
        #expect(await eventually { device.frames.filter { $0.opcode == 0xA }.count == 3 })
        #expect(device.connections == 1, "the binary message did not end the connection")
        session.close()
        await device.shutdown()
    }

    @Test("a close from the device is echoed with its status; the next call opens a new connection")
    func closeEcho() async throws {
        let device = try await ScriptedWebSocketDevice.start(.closeAfterReply)
        let session = Self.session(device)
        #expect(Self.watts(await Self.call(session)) == 42.5)
        #expect(await eventually { device.frames.contains { $0.opcode == 0x8 } })
        let close = try #require(device.frames.first { $0.opcode == 0x8 })
        #expect(Array(close.payload.prefix(2)) == [0x03, 0xE9], "the echo carries status 1001")
        #expect(close.masked)
        #expect(await eventually { !session.isOpen })
        // The backoff applies only to attempts that never opened: this one opened.
        #expect(Self.watts(await Self.call(session)) == 42.5)
        #expect(device.connections == 2)
        session.close()
        await device.shutdown()
    }

    @Test("a fragmented reply larger than the largest message closes the connection and fails the call")
    func oversized() async throws {
        let limit = RPCWebSocket.maxFrameBytes
        let device = try await ScriptedWebSocketDevice.start(.oversized(bytes: limit / 2 + 1))
        let session = Self.session(device)
        let result = await Self.call(session, seconds: 60)
        guard case .failure(.closed(let reason)) = result else {
            Issue.record("a \(limit)-byte-plus message was read: \(result)")
            return
        }
        #expect(reason.contains("larger than \(limit) bytes"), "\(reason)")
        #expect(await eventually { !session.isOpen })
        session.close()
        await device.shutdown()
    }
}

import Crypto
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A Gen2+ device's `/rpc` WebSocket spoken byte by byte (RFC 6455), so a test can make it do
/// what real devices and the proxies in front of them do and NIO's own server never would:
/// prove the upgrade with a wrong `Sec-WebSocket-Accept`, interleave pings, fragment replies,
/// send binary messages, close with a status. Every frame the client sends is recorded as read
/// off the wire (masked or not).
final class ScriptedWebSocketDevice: Sendable {
    /// What the device does with each request frame.
    enum Behaviour: Sendable {
        /// One text frame per reply.
        case plain
        /// Answers the upgrade with a `Sec-WebSocket-Accept` that proves nothing.
        case wrongAccept
        /// A ping (payload `probe-<n>`) before each reply.
        case pingFirst
        /// Each reply in three fragments, a binary message and a ping between them.
        case fragmented
        /// The reply, then a close frame with status 1001 ("going away", as a rebooting
        /// device sends); the connection ends once the client echoed it.
        case closeAfterReply
        /// A reply fragmented into two frames of `bytes` each.
        case oversized(bytes: Int)
    }

    /// A frame the client sent.
    struct Frame: Sendable, Equatable {
        var opcode: UInt8
        var fin: Bool
        var masked: Bool
        var payload: [UInt8]
    }

    private struct Log {
        var connections = 0
        var frames: [Frame] = []
        var upgradeRequests: [String] = []
    }

    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let recorder: Recorder

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel, recorder: Recorder) {
        self.port = port
        self.group = group
        self.channel = channel
        self.recorder = recorder
    }

    /// Listens on 127.0.0.1 (a free port).
    static func start(_ behaviour: Behaviour) async throws -> ScriptedWebSocketDevice {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let recorder = Recorder()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Connection(behaviour: behaviour, recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedWebSocketDevice(
            port: channel.localAddress?.port ?? 0, group: group, channel: channel, recorder: recorder)
    }

    /// Frames the client sent, in order, over every connection.
    var frames: [Frame] { recorder.log.withLock { $0.frames } }
    /// Connections accepted so far.
    var connections: Int { recorder.log.withLock { $0.connections } }
    /// Each connection's upgrade request head.
    var upgradeRequests: [String] { recorder.log.withLock { $0.upgradeRequests } }

    func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// The reply a device sends to request `id`: `Switch.GetStatus` of a plug drawing 42.5 W,
    /// padded to `padding` bytes when a test needs a large one.
    static func reply(id: Int64, padding: Int = 0) -> [UInt8] {
        let pad = padding > 0 ? ",\"pad\":\"" + String(repeating: "x", count: padding) + "\"" : ""
        return Array(
            ("{\"id\":\(id),\"src\":\"shellyplusplugs-scripted\",\"dst\":\"client\",\"result\":"
                + "{\"id\":0,\"output\":true,\"apower\":42.5,\"voltage\":230.1,\"current\":0.2,"
                + "\"aenergy\":{\"total\":1234.5}\(pad)}}").utf8)
    }

    /// RFC 6455 section 4.2.2: base64(SHA-1(key + GUID)).
    static func accept(for key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }

    /// Records what every connection saw.
    private final class Recorder: Sendable {
        let log = Mutex(Log())
    }

    /// One connection: the HTTP upgrade, then frames both ways.
    private final class Connection: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let behaviour: Behaviour
        private let recorder: Recorder
        private var input: [UInt8] = []
        private var upgraded = false
        private var pings = 0

        init(behaviour: Behaviour, recorder: Recorder) {
            self.behaviour = behaviour
            self.recorder = recorder
        }

        func channelActive(context: ChannelHandlerContext) {
            recorder.log.withLock { $0.connections += 1 }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            input += buffer.readBytes(length: buffer.readableBytes) ?? []
            if !upgraded {
                guard let end = Self.headEnd(input) else { return }
                let head = String(decoding: input[..<end], as: UTF8.self)
                input.removeFirst(end + 4)
                upgraded = true
                recorder.log.withLock { $0.upgradeRequests.append(head) }
                let key =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                    .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
                let accept: String
                if case .wrongAccept = behaviour {
                    accept = ScriptedWebSocketDevice.accept(for: key + "x")
                } else {
                    accept = ScriptedWebSocketDevice.accept(for: key)
                }
                send(
                    Array(
                        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Accept: \(accept)\r\n\r\n").utf8), context: context)
            }
            while let frame = Self.frame(&input) {
                recorder.log.withLock { $0.frames.append(frame) }
                handle(frame, context: context)
            }
        }

        private func handle(_ frame: Frame, context: ChannelHandlerContext) {
            switch frame.opcode {
            case 0x8:
                if case .closeAfterReply = behaviour {
                    context.close(promise: nil)
                }
            case 0x1:
                guard let text = try? JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any],
                    let id = (text["id"] as? NSNumber)?.int64Value
                else { return }
                respond(id: id, context: context)
            default:
                break
            }
        }

        private func respond(id: Int64, context: ChannelHandlerContext) {
            let reply = ScriptedWebSocketDevice.reply(id: id)
            switch behaviour {
            case .plain, .wrongAccept:
                sendFrame(opcode: 0x1, fin: true, reply, context: context)
            case .pingFirst:
                pings += 1
                sendFrame(opcode: 0x9, fin: true, Array("probe-\(pings)".utf8), context: context)
                sendFrame(opcode: 0x1, fin: true, reply, context: context)
            case .fragmented:
                let third = reply.count / 3
                sendFrame(opcode: 0x2, fin: false, [1, 2, 3], context: context)
                sendFrame(opcode: 0x0, fin: true, [4, 5], context: context)
                sendFrame(opcode: 0x1, fin: false, Array(reply[..<third]), context: context)
                pings += 1
                sendFrame(opcode: 0x9, fin: true, Array("probe-\(pings)".utf8), context: context)
                sendFrame(opcode: 0x0, fin: false, Array(reply[third..<(2 * third)]), context: context)
                sendFrame(opcode: 0x0, fin: true, Array(reply[(2 * third)...]), context: context)
            case .closeAfterReply:
                sendFrame(opcode: 0x1, fin: true, reply, context: context)
                sendFrame(opcode: 0x8, fin: true, [0x03, 0xE9] + Array("rebooting".utf8), context: context)
            case .oversized(let bytes):
                let large = ScriptedWebSocketDevice.reply(id: id, padding: 2 * bytes)
                sendFrame(opcode: 0x1, fin: false, Array(large[..<bytes]), context: context)
                sendFrame(opcode: 0x0, fin: true, Array(large[bytes...]), context: context)
            }
        }

        /// A server frame: never masked (RFC 6455 section 5.1).
        private func sendFrame(opcode: UInt8, fin: Bool, _ payload: [UInt8], context: ChannelHandlerContext) {
            var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
            if payload.count < 126 {
                bytes.append(UInt8(payload.count))
            } else if payload.count <= 0xFFFF {
                bytes += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
            } else {
                bytes.append(127)
                bytes += (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (8 * UInt64($0))) & 0xFF) }
            }
            send(bytes + payload, context: context)
        }

        private func send(_ bytes: [UInt8], context: ChannelHandlerContext) {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }

        private static func headEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4)
            where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index
            }
            return nil
        }

        /// Takes one whole frame off the front of `bytes`, unmasking its payload.
        private static func frame(_ bytes: inout [UInt8]) -> Frame? {
            guard bytes.count >= 2 else { return nil }
            let masked = bytes[1] & 0x80 != 0
            var length = Int(bytes[1] & 0x7F)
            var offset = 2
            if length == 126 {
                guard bytes.count >= 4 else { return nil }
                length = Int(bytes[2]) << 8 | Int(bytes[3])
                offset = 4
            } else if length == 127 {
                guard bytes.count >= 10 else { return nil }
                length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
                offset = 10
            }
            let keyLength = masked ? 4 : 0
            guard bytes.count >= offset + keyLength + length else { return nil }
            let key = Array(bytes[offset..<(offset + keyLength)])
            var payload = Array(bytes[(offset + keyLength)..<(offset + keyLength + length)])
            if masked {
                for index in payload.indices { payload[index] ^= key[index % 4] }
            }
            let frame = Frame(opcode: bytes[0] & 0x0F, fin: bytes[0] & 0x80 != 0, masked: masked, payload: payload)
            bytes.removeFirst(offset + keyLength + length)
            return frame
        }
    }
}

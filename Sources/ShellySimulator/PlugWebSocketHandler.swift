import EnergyModel
import Foundation
import JSON
import NIOCore
import NIOWebSocket
import Synchronization

/// Serves one plug's RPC channel over a WebSocket, as Gen2+ devices do on `ws://HOST/rpc`:
/// request frames `{"id":1,"src":"client","method":"Switch.GetStatus","params":{"id":0},
/// "auth":{...}}`, answers `{"id":1,"src":DEVICE,"dst":"client","result":{...}}` or
/// `{"id":1,...,"error":{"code":401,"message":CHALLENGE}}`. The payloads, faults and Digest
/// rules are those of the HTTP API.
final class PlugWebSocketHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let plug: SimulatedPlug
    private let slowDelay: Duration
    private let simulator: ShellySimulator
    /// The fragments of a text message not finished yet.
    private let fragments = Mutex<[UInt8]>([])

    init(plug: SimulatedPlug, slowDelay: Duration, simulator: ShellySimulator) {
        self.plug = plug
        self.slowDelay = slowDelay
        self.simulator = simulator
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in channel.close(promise: nil) }
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .text, .continuation:
            var buffer = frame.unmaskedData
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let message = fragments.withLock { pending -> [UInt8]? in
                pending += bytes
                guard frame.fin else { return nil }
                defer { pending = [] }
                return pending
            }
            if let message { respond(to: message, context: context) }
        default:
            break
        }
    }

    private func respond(to message: [UInt8], context: ChannelHandlerContext) {
        let now = Date().timeIntervalSince1970
        guard let (reply, watts) = plug.frameAnswer(message, now: now) else { return }
        if let watts {
            plug.countServedReading()
            simulator.didServe(
                SimulatedPlug.ServedReading(
                    node: plug.specification.node, timestampMilliseconds: Int64(clampingRounding: now * 1000, .down), watts: watts))
        }
        let send = { @Sendable (context: ChannelHandlerContext) in
            var buffer = context.channel.allocator.buffer(capacity: reply.utf8.count)
            buffer.writeString(reply)
            context.writeAndFlush(NIOAny(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        }
        if plug.specification.fault == .slow {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let nanoseconds = slowDelay.components.seconds * 1_000_000_000 + slowDelay.components.attoseconds / 1_000_000_000
            context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { send(loopBound.value) }
        } else {
            send(context)
        }
    }
}

extension SimulatedPlug {
    /// The reply frame to an RPC request frame and the watts it reports, or nil when the plug
    /// does not answer (`ws-silent`, or a frame that is not a request).
    func frameAnswer(_ message: [UInt8], now: Double) -> (String, Double?)? {
        guard specification.fault != .silentWebSocket, let request = JSONValue.parse(message),
            let method = request["method"]?.string
        else { return nil }
        let id = request["id"].map(Self.jsonText) ?? "null"
        let source = request["src"]?.string ?? "client"
        let head = "{\"id\":\(id),\"src\":\"\(deviceID)\",\"dst\":\"\(Self.escaped(source))\","
        if let digest {
            var auth: [String: String]?
            if let members = request["auth"]?.object {
                auth = members.compactMapValues { value in value.string ?? value.integer.map(String.init) }
            }
            // Counted here: the HTTP path counts in `answer`, which the frame path calls preauthenticated.
            if let (code, text) = digest.checkFrame(auth: auth, now: now) {
                _ = countRequest(basicCredentials: false)
                return (head + "\"error\":{\"code\":\(code),\"message\":\"\(Self.escaped(text))\"}}", nil)
            }
        }
        // The integer parameters as the HTTP API's query (`id` first): `EMData.GetData` takes
        // `ts` and `end_ts` besides the component's id.
        let parameters = (request["params"]?.object ?? [:]).compactMapValues(\.integer)
            .sorted { ($0.key == "id" ? 0 : 1, $0.key) < ($1.key == "id" ? 0 : 1, $1.key) }
        var uri = "/rpc/\(method)"
        if !parameters.isEmpty { uri += "?" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: "&") }
        let answer = answer(method: "GET", uri: uri, authorization: nil, now: now, preauthenticated: true)
        guard answer.status == 200 else {
            let body = JSONValue.parse(Array(answer.body.utf8))
            let code = body?["code"]?.integer ?? Int64(answer.status)
            let text = body?["message"]?.string ?? answer.body
            return (head + "\"error\":{\"code\":\(code),\"message\":\"\(Self.escaped(text))\"}}", nil)
        }
        return (head + "\"result\":\(answer.body)}", answer.servedWatts)
    }

    private static func jsonText(_ value: JSONValue) -> String {
        switch value {
        case .integer(let number): String(number)
        case .string(let text): "\"\(escaped(text))\""
        default: "null"
        }
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}

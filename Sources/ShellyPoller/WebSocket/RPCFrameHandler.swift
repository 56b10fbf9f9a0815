import NIOCore
import NIOWebSocket

/// The end of one plug's WebSocket connection on its event loop: it frames request calls into
/// one buffer reused for every call (header, mask and payload written in place, one write per
/// call), and hands each reply's bytes to its session as the frame is read, on the loop, with
/// no task in between. Pings are answered, a close is echoed; a fragmented text message is
/// put together up to the session's largest message.
final class RPCFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    /// Room before the payload for the largest frame header a client writes (2 bytes, 8 of
    /// length, 4 of mask): the header is written in front of the payload, in the same buffer.
    private static let headroom = 14
    /// A request frame is about 200 bytes, one with `auth` about 500.
    private static let bufferBytes = 1024

    private let session: EventLoopRPCWebSocket
    private let generation: Int
    private let maxMessageBytes: Int
    private var context: ChannelHandlerContext?
    /// Every frame written is built here; it is free again once the socket took the previous.
    private var output = ByteBuffer()
    /// A fragmented text message being put together.
    private var message: ByteBuffer?
    /// Whether the fragments coming are a binary message's, which is not read.
    private var skipping = false

    init(session: EventLoopRPCWebSocket, generation: Int, maxMessageBytes: Int) {
        self.session = session
        self.generation = generation
        self.maxMessageBytes = maxMessageBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: Self.bufferBytes)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes call `id` as one text frame: `{"id":…,"src":…,"method":…,"params":…,"auth":…}`.
    /// Returns false when the connection is gone (the call fails as closed).
    func send(id: Int64, source: String, method: String, params: String, auth: String?) -> Bool {
        guard let context, context.channel.isActive else { return false }
        write(opcode: 0x1, context: context) { buffer in
            buffer.writeStaticString("{\"id\":")
            buffer.writeString(String(id))
            buffer.writeStaticString(",\"src\":\"")
            buffer.writeString(source)
            buffer.writeStaticString("\",\"method\":\"")
            buffer.writeString(method)
            buffer.writeStaticString("\",\"params\":")
            buffer.writeString(params)
            if let auth {
                buffer.writeStaticString(",\"auth\":")
                buffer.writeString(auth)
            }
            buffer.writeStaticString("}")
        }
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            if frame.fin {
                session.deliver(Array(frame.unmaskedData.readableBytesView))
            } else {
                message = frame.unmaskedData
            }
        case .binary:
            skipping = !frame.fin
        case .continuation:
            if skipping {
                skipping = !frame.fin
                return
            }
            guard var assembled = message else { return }
            message = nil
            var part = frame.unmaskedData
            guard assembled.readableBytes + part.readableBytes <= maxMessageBytes else {
                session.closed(.closed("a message larger than \(maxMessageBytes) bytes"), generation: generation)
                context.close(promise: nil)
                return
            }
            assembled.writeBuffer(&part)
            if frame.fin {
                session.deliver(Array(assembled.readableBytesView))
            } else {
                message = assembled
            }
        case .ping:
            var payload = frame.unmaskedData
            write(opcode: 0xA, context: context) { $0.writeBuffer(&payload) }
        case .connectionClose:
            // Echoes the status code, as a closing endpoint is to, then closes.
            var status = frame.unmaskedData
            status.moveWriterIndex(to: status.readerIndex + min(2, status.readableBytes))
            write(opcode: 0x8, context: context) { $0.writeBuffer(&status) }
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.closed(.closed("closed by the device"), generation: generation)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.closed(.closed("\(error)"), generation: generation)
        context.close(promise: nil)
    }

    /// Writes one masked frame (FIN set) whose payload `body` writes, into `output`: the
    /// payload first, after room for the header, then the header in front of it.
    private func write(opcode: UInt8, context: ChannelHandlerContext, _ body: (inout ByteBuffer) -> Void) {
        output.clear(minimumCapacity: Self.bufferBytes)
        output.moveWriterIndex(to: Self.headroom)
        output.moveReaderIndex(to: Self.headroom)
        body(&output)
        let length = output.readableBytes
        let key = WebSocketMaskingKey.random()
        output.webSocketMask(key)
        let lengthBytes = length < 126 ? 0 : length <= 0xFFFF ? 2 : 8
        var index = Self.headroom - 2 - lengthBytes - 4
        let start = index
        index += output.setInteger(0x80 | opcode, at: index)
        switch lengthBytes {
        case 0:
            index += output.setInteger(0x80 | UInt8(truncatingIfNeeded: length), at: index)
        case 2:
            index += output.setInteger(UInt8(0x80 | 126), at: index)
            index += output.setInteger(UInt16(truncatingIfNeeded: length), at: index)
        default:
            index += output.setInteger(UInt8(0x80 | 127), at: index)
            index += output.setInteger(UInt64(truncatingIfNeeded: length), at: index)
        }
        output.setBytes(key, at: index)
        output.moveReaderIndex(to: start)
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
    }
}

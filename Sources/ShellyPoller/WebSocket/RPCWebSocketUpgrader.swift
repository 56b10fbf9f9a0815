import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// What a plug's WebSocket upgrade came to.
enum RPCWebSocketUpgrade: Sendable {
    /// Upgraded: the connection's frame handler, to be used on its event loop.
    case open(NIOLoopBound<RPCFrameHandler>)
    /// The device answered with something other than 101 (no WebSocket there).
    case refused
}

/// The client side of the WebSocket upgrade of a plug's RPC connection (RFC 6455 section 4).
/// NIO's own upgrader also installs its frame encoder; this one installs only the decoder and
/// the plug's `RPCFrameHandler`, which frames its requests itself into one reused buffer.
struct RPCWebSocketUpgrader: NIOTypedHTTPClientProtocolUpgrader {
    typealias UpgradeResult = RPCWebSocketUpgrade

    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    /// This upgrade's `Sec-WebSocket-Key`.
    private let key: String
    /// Largest frame read from the device.
    private let maxFrameSize: Int
    /// Makes the connection's frame handler, on its event loop.
    private let makeHandler: @Sendable () -> RPCFrameHandler

    init(maxFrameSize: Int, makeHandler: @escaping @Sendable () -> RPCFrameHandler) {
        self.key = NIOWebSocketClientUpgrader.randomRequestKey()
        self.maxFrameSize = maxFrameSize
        self.makeHandler = makeHandler
    }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        upgradeRequestHeaders.add(name: "Sec-WebSocket-Key", value: key)
        upgradeRequestHeaders.add(name: "Sec-WebSocket-Version", value: "13")
    }

    /// Only a server that proves it read this upgrade's key speaks WebSocket.
    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        let expected = Data(digest).base64EncodedString()
        return upgradeResponse.headers.first(name: "Sec-WebSocket-Accept") == expected
    }

    func upgrade(channel: any Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<RPCWebSocketUpgrade> {
        channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
            let handler = makeHandler()
            try operations.addHandler(handler)
            return .open(NIOLoopBound(handler, eventLoop: channel.eventLoop))
        }
    }
}

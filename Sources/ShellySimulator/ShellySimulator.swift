import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// Simulated Shelly plugs on one host: plug `i` listens on its own port and speaks the Gen1
/// or the RPC API, optionally with auth and a fault. Every reading served can be recorded,
/// so tests can compare what the service stored against what the plugs said.
public final class ShellySimulator: Sendable {
    /// Settings shared by all plugs.
    public struct Configuration: Sendable {
        /// Address to listen on; loopback by default.
        public var host: String
        /// How long a `slow` plug waits before answering.
        public var slowDelay: Duration
        /// Appends `node,unix_ms,watts` for every served reading when set.
        public var recordPath: String?
        /// The firmware line whose Digest rules Gen2+ plugs follow: 1 (lenient) or 2 (RFC 7616
        /// enforced: nonce slots, strict `nc`, `stale`, the 429 throttle).
        public var firmware: Int
        /// How long a firmware-2 nonce lives, seconds (an hour on the devices; tests shorten it).
        public var nonceLifetime: Double

        /// Creates a configuration.
        public init(
            host: String = "127.0.0.1", slowDelay: Duration = .seconds(3), recordPath: String? = nil, firmware: Int = 2,
            nonceLifetime: Double = 3600
        ) {
            self.host = host
            self.slowDelay = slowDelay
            self.recordPath = recordPath
            self.firmware = firmware
            self.nonceLifetime = nonceLifetime
        }
    }

    /// The plugs.
    public let plugs: [SimulatedPlug]
    /// The settings.
    public let configuration: Configuration
    private let group: MultiThreadedEventLoopGroup
    private let channels: Mutex<[any Channel]>
    private let boundPorts: Mutex<[String: Int]>
    private let listeners: Mutex<[String: any Channel]>
    private let served: Mutex<[SimulatedPlug.ServedReading]>
    private let record: FileHandle?

    private init(plugs: [SimulatedPlug], configuration: Configuration, threads: Int) throws {
        self.plugs = plugs
        self.configuration = configuration
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.channels = Mutex([])
        self.boundPorts = Mutex([:])
        self.listeners = Mutex([:])
        self.served = Mutex([])
        if let path = configuration.recordPath {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw SimulatorError("cannot write record file \(path)")
            }
            handle.seekToEndOfFile()
            self.record = handle
        } else {
            self.record = nil
        }
    }

    /// What every plug saw and answered so far, by node.
    public func statistics() -> [String: SimulatedPlug.Statistics] {
        var result: [String: SimulatedPlug.Statistics] = [:]
        for plug in plugs { result[plug.specification.node] = plug.statistics }
        return result
    }

    /// Starts listening for every plug that is not `unreachable`.
    public static func start(
        plugs specifications: [SimulatedPlug.Specification],
        configuration: Configuration = Configuration(),
        threads: Int = 1
    ) async throws -> ShellySimulator {
        let now = Date().timeIntervalSince1970
        let simulator = try ShellySimulator(
            plugs: specifications.map {
                SimulatedPlug($0, now: now, firmware: configuration.firmware, nonceLifetime: configuration.nonceLifetime)
            },
            configuration: configuration, threads: threads
        )
        do {
            for plug in simulator.plugs where plug.specification.fault != .unreachable {
                let channel = try await simulator.bind(plug)
                simulator.channels.withLock { $0.append(channel) }
                simulator.listeners.withLock { $0[plug.specification.node] = channel }
                let port = channel.localAddress?.port ?? plug.specification.port
                simulator.boundPorts.withLock { $0[plug.specification.node] = port }
            }
        } catch {
            await simulator.shutdown()
            throw SimulatorError(
                "cannot listen on \(configuration.host) for a simulated plug: \(error)"
            )
        }
        return simulator
    }

    private func bind(_ plug: SimulatedPlug) async throws -> any Channel {
        let slowDelay = configuration.slowDelay
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(Self.deferAccept.option, value: Self.deferAccept.seconds)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Gen2+ devices serve their RPC channel as a WebSocket on /rpc too.
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: 1 << 20,
                        shouldUpgrade: { channel, head in
                            // The `impostor` is a Gen1 device: no RPC channel.
                            let accepts =
                                plug.specification.generation >= 2
                                && plug.specification.fault != .noWebSocket && plug.specification.fault != .impostor
                                && head.uri.split(separator: "?").first == "/rpc"
                            return channel.eventLoop.makeSucceededFuture(accepts ? HTTPHeaders() : nil)
                        },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let pipeline = channel.pipeline.syncOperations
                                _ = pipeline.removeHandler(try pipeline.handler(type: PlugHTTPHandler.self))
                                try pipeline.addHandler(PlugWebSocketHandler(plug: plug, slowDelay: slowDelay, simulator: self))
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        PlugHTTPHandler(plug: plug, slowDelay: slowDelay, simulator: self)
                    )
                }
            }
            .bind(host: configuration.host, port: plug.specification.port)
            .get()
    }

    /// TCP_DEFER_ACCEPT (Linux): a connection reaches the listener only once its request has
    /// arrived, so each poll wakes a plug's event loop once (request ready) instead of twice
    /// (connection, then request). On loopback the woken side's work is partly done in the
    /// connecting process, so this also spares the service under test work a real plug's
    /// network would never charge it. Elsewhere SO_REUSEADDR (set anyway) stands in.
    private static var deferAccept: (option: ChannelOptions.Types.SocketOption, seconds: SocketOptionValue) {
        #if os(Linux)
            (ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: TCP_DEFER_ACCEPT)), 1)
        #else
            (ChannelOptions.Types.SocketOption(level: .socket, name: .so_reuseaddr), 1)
        #endif
    }

    /// The port a plug listens on (the kernel's choice when its specification said 0), or
    /// nil for an unreachable plug.
    public func port(of node: String) -> Int? {
        boundPorts.withLock { $0[node] }
    }

    /// The plug of `node`, if simulated.
    public func plug(of node: String) -> SimulatedPlug? {
        plugs.first { $0.specification.node == node }
    }

    /// Unplugs `node`'s plug from the network: its listener closes, so every new connection
    /// is refused from now on (an HTTP poller sees it at its next request).
    public func disconnect(node: String) async {
        guard let channel = listeners.withLock({ $0.removeValue(forKey: node) }) else { return }
        try? await channel.close()
    }

    /// Every reading served so far, oldest first.
    public func servedReadings() -> [SimulatedPlug.ServedReading] {
        served.withLock { $0 }
    }

    func didServe(_ reading: SimulatedPlug.ServedReading) {
        served.withLock { $0.append(reading) }
        if let record {
            let line = "\(reading.node),\(reading.timestampMilliseconds),\(reading.watts)\n"
            record.write(Data(line.utf8))
        }
    }

    /// Closes every listener and stops the event loops.
    public func shutdown() async {
        let open = channels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in open {
            try? await channel.close()
        }
        try? await group.shutdownGracefully()
        try? record?.close()
    }
}

/// A simulator start-up failure.
public struct SimulatorError: Error, CustomStringConvertible, Sendable {
    /// One line.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Serves one plug's HTTP API on one connection; closes after each response, as the
/// devices do (`Connection: close`).
final class PlugHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let plug: SimulatedPlug
    private let slowDelay: Duration
    private let simulator: ShellySimulator
    private let head = Mutex<HTTPRequestHead?>(nil)

    init(plug: SimulatedPlug, slowDelay: Duration, simulator: ShellySimulator) {
        self.plug = plug
        self.slowDelay = slowDelay
        self.simulator = simulator
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head.withLock { $0 = requestHead }
        case .body:
            break
        case .end:
            guard let requestHead = head.withLock({ $0 }) else { return }
            let now = Date().timeIntervalSince1970
            let answer = plug.answer(
                method: requestHead.method.rawValue,
                uri: requestHead.uri,
                authorization: requestHead.headers.first(name: "Authorization"),
                now: now
            )
            if let watts = answer.servedWatts {
                plug.countServedReading()
                simulator.didServe(
                    SimulatedPlug.ServedReading(
                        node: plug.specification.node, timestampMilliseconds: Int64(clampingRounding: now * 1000, .down), watts: watts
                    )
                )
            }
            if plug.specification.fault == .slow {
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let nanoseconds = slowDelay.components.seconds * 1_000_000_000 + slowDelay.components.attoseconds / 1_000_000_000
                context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
                    Self.respond(context: loopBound.value, answer: answer)
                }
            } else {
                Self.respond(context: context, answer: answer)
            }
        }
    }

    private static func respond(context: ChannelHandlerContext, answer: SimulatedPlug.Answer) {
        var headers = HTTPHeaders()
        let isJSON = answer.body.hasPrefix("{") || answer.body.isEmpty
        headers.add(name: "Content-Type", value: isJSON ? "application/json" : "text/html")
        headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
        headers.add(name: "Connection", value: "close")
        for (name, value) in answer.headers {
            headers.add(name: name, value: value)
        }
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers
        )
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
        buffer.writeString(answer.body)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

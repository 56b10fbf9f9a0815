import NIOCore
import NIOHTTP1
import NIOPosix

/// A listener that answers `GET /healthz` and nothing else, entirely on an event loop of its
/// own: no Swift task, no router, no queue shared with the service's other requests. A flood
/// of new connections on the main port keeps that server's accept loop waiting for the
/// cooperative pool; a liveness probe pointed here is answered regardless, so a service that
/// is only busy is never restarted for it. What it answers is `check`'s verdict: `200 ok`,
/// or `503` with the reason (the monitor's: its poll loop has stopped ticking).
public final class HealthServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The bound port.
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
    }

    /// Listens on `host:port` (port 0 picks one). `check` returns nil when healthy, else the
    /// reason; it runs on the event loop and must not block.
    public static func start(
        host: String, port: Int, check: @escaping @Sendable () -> String? = { nil }
    ) async throws -> HealthServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(HealthResponder(check: check))
                    }
                }
                .bind(host: host, port: port)
                .get()
            return HealthServer(group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening and ends the event loop.
    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Answers each request of a connection: `GET /healthz` (any query) `200 ok` or `503` with the
/// check's reason, anything else `404`; the connection closes after each answer.
private final class HealthResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let check: @Sendable () -> String?
    private var status: HTTPResponseStatus = .notFound
    private var body = ""

    init(check: @escaping @Sendable () -> String?) {
        self.check = check
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            if request.method == .GET, path == "/healthz" {
                let problem = check()
                status = problem == nil ? .ok : .serviceUnavailable
                body = problem.map { "unhealthy: \($0)\n" } ?? "ok\n"
            } else {
                status = .notFound
                body = "not found: only GET /healthz here\n"
            }
        case .body:
            break
        case .end:
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
            headers.add(name: "Connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

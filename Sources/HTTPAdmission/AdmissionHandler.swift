import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers on the connection's event loop, before a request reaches the server's handlers
/// (which run as tasks on the cooperative pool a flood of requests fills):
///
/// * `GET` of the health path (`/healthz`) gets `200 ok` straight away, so a liveness probe
///   never waits behind a queue of scrapes and never restarts a service that is only busy;
/// * a request beyond the gate's limit gets `503` with `Retry-After` straight away;
/// * everything else goes on to the server, holding a place of the gate until its answer's
///   end has been written. Paths in `exempt` (the readiness check) go on without a place.
///
/// Only a request that is alone on its connection is answered here: a pipelined request
/// behind one still being answered goes on to the server, so answers never overtake each
/// other. One handler per connection; the gate is shared.
public final class AdmissionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private let gate: AdmissionGate
    private let healthPath: String?
    private let exempt: Set<String>
    /// Requests handed on whose answers have not ended yet, oldest first: whether each holds
    /// a place of the gate.
    private var handedOn: [Bool] = []
    /// Whether the rest of a request answered here is being read and dropped.
    private var discarding = false

    /// A handler of one connection.
    /// - Parameters:
    ///   - healthPath: the path answered `200 ok` here (nil: none).
    ///   - exempt: paths handed on without a place of the gate.
    public init(gate: AdmissionGate, healthPath: String? = "/healthz", exempt: Set<String> = []) {
        self.gate = gate
        self.healthPath = healthPath
        self.exempt = exempt
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            let path = Self.path(of: request)
            if handedOn.isEmpty {
                if request.method == .get, let healthPath, path == healthPath {
                    answer(context: context, request: request, status: .ok, body: "ok\n", retryAfter: nil)
                    return
                }
                if !exempt.contains(path) {
                    guard gate.tryAcquire() else {
                        gate.recordRefusal()
                        answer(
                            context: context, request: request, status: .serviceUnavailable,
                            body: "busy: \(gate.limit) requests in progress; retry in \(gate.retryAfterSeconds) s\n",
                            retryAfter: gate.retryAfterSeconds)
                        return
                    }
                    handedOn.append(true)
                } else {
                    handedOn.append(false)
                }
            } else {
                handedOn.append(false)
            }
            context.fireChannelRead(data)
        case .body, .end:
            if discarding {
                if case .end = part { discarding = false }
                return
            }
            context.fireChannelRead(data)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), !handedOn.isEmpty {
            if handedOn.removeFirst() { gate.release() }
        }
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        releaseAll()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        releaseAll()
    }

    private func releaseAll() {
        for holds in handedOn where holds { gate.release() }
        handedOn.removeAll()
    }

    /// Writes a whole answer; the rest of the request is dropped as it arrives. A client
    /// that asked to close (`Connection: close`) is closed after it, as the server would.
    private func answer(
        context: ChannelHandlerContext, request: HTTPRequest, status: HTTPResponse.Status, body: String,
        retryAfter: Int?
    ) {
        discarding = true
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var fields: HTTPFields = [.contentType: "text/plain; charset=utf-8", .contentLength: "\(buffer.readableBytes)"]
        if let retryAfter { fields[.retryAfter] = "\(retryAfter)" }
        let close = request.headerFields[.connection]?.lowercased().contains("close") == true
        if close { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if close {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The path without its query.
    static func path(of request: HTTPRequest) -> String {
        guard let path = request.path else { return "" }
        return path.firstIndex(of: "?").map { String(path[..<$0]) } ?? path
    }
}

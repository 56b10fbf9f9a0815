import Foundation
import HTTPAdmission
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Scoring
import ServiceLifecycle
import UserInput

/// The scheduler-extender HTTP server: kube-scheduler's `extenders:` calls, health and metrics.
///
/// | route | answer |
/// |---|---|
/// | `POST /scheduler/prioritize` | `HostPriorityList` (`[{"Host":…,"Score":0...10}]`) |
/// | `POST /scheduler/filter` | `ExtenderFilterResult` |
/// | `GET /healthz` | `ok` |
/// | `GET /metrics` | request, diagnostic and reload counters (text format 0.0.4) |
///
/// With ``Configuration/metricsListen`` a second listener answers `GET /metrics` and
/// `GET /healthz` only, for Prometheus on the pod's address while the scheduler's calls stay on
/// loopback.
///
/// A malformed body gets 400, a body over ``Configuration/maxBodyBytes`` 413 (counted, and
/// logged once a minute with its node count and the fix), a request that finds
/// ``Configuration/bodyBudgetBytes`` taken by others 503, each with one line of `text/plain`
/// saying why. Each request scores with the knowledge base the watcher holds at that moment,
/// so a reload applies from the next request on, and `NodeNames` requests with the node view
/// a ``NodeViewWatcher`` keeps, when one is given.
///
/// Memory stays bounded whatever clients do (the sidecar's limit is 128 MiB): bodies and
/// answers share one byte budget, one body at a time is parsed and scored, connections are
/// capped at ``Configuration/maxConnections`` and closed after ``Configuration/idleTimeout``
/// without a byte from the client, or ``Configuration/stallTimeout`` without progress on an
/// answer it does not read.
public enum ExtenderServer {
    /// `Content-Type` of the Prometheus text exposition format 0.0.4.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    /// The path prefix kube-scheduler's `urlPrefix` ends in.
    public static let pathPrefix = "/scheduler"

    /// Request headers larger than this end the connection: kube-scheduler sends about 200 bytes.
    public static let maxHeaderBytes = 16 * 1024
    /// The kernel's send buffer per connection (it doubles the figure for its bookkeeping).
    public static let sendBufferBytes = 64 * 1024
    /// What one read from a connection takes at most: a connection that has sent much and
    /// waits holds a few reads ahead, so small reads keep 256 such connections small.
    static let readBytes = 4 * 1024

    /// Where and how the server listens.
    public struct Configuration: Sendable {
        /// Where to listen (`127.0.0.1:8888` for a sidecar next to kube-scheduler); port 0
        /// picks a free one (see `onServerRunning`).
        public var listen: ListenAddress
        /// Where a second listener answers `GET /metrics` and `GET /healthz` only (nil: none);
        /// port 0 picks a free one (see `onMetricsServerRunning`).
        public var metricsListen: ListenAddress?
        /// Largest accepted request body. With `nodeCacheCapable: false` the scheduler sends
        /// every candidate node object, 5 to 20 KiB each (long image lists make them large).
        public var maxBodyBytes: Int
        /// Names and freshness limit of the node power annotations.
        public var powerAnnotations: PowerAnnotations
        /// Connections served at once; further ones wait in the listen backlog.
        public var maxConnections: Int
        /// Connections that send nothing this long are closed. Longer than the 90 s Go's HTTP
        /// client keeps an idle connection (`IdleConnTimeout`, which kube-scheduler's extender
        /// client has): the client must be the one to close it, or a call may be written onto a
        /// connection the extender is closing, and Go does not retry a POST.
        public var idleTimeout: Duration
        /// A connection whose answer makes no progress this long (its client does not read)
        /// is closed.
        public var stallTimeout: Duration

        /// The default body limit, 2 MiB: some 330 node objects of the usual 6 KiB (100 with
        /// long image lists), against the extender's 128 MiB container limit. Parsed into a
        /// JSON tree and answered, a body costs about 12 times its size while it is scored:
        /// one 2 MiB filter call peaks at 64 MiB resident, 39 MiB of it the idle process
        /// (release build; README, "Scheduler extender memory", has the measurements).
        public static let defaultMaxBodyBytes = 2 << 20
        /// The default connection cap, far above the few connections kube-scheduler keeps.
        /// An open connection costs 30 to 150 KiB (what it has sent, read ahead): 256 of them
        /// stay under 40 MiB.
        public static let defaultMaxConnections = 256
        /// The default idle timeout, 120 s: above Go's 90 s.
        public static let defaultIdleTimeout = Duration.seconds(120)
        /// The default stall timeout, 15 s (as `/metrics` of the monitor).
        public static let defaultStallTimeout = Duration.seconds(15)
        /// How many bodies of the largest size fit in the byte budget at once.
        public static let bodiesInBudget = 4

        /// The bytes of bodies and answers held at once: ``bodiesInBudget`` bodies of
        /// ``maxBodyBytes``, 8 MiB by default. With one body scored at a time, the worst case
        /// measured (32 clients posting 2 MiB filter calls at once) peaked at 82 MiB resident.
        public var bodyBudgetBytes: Int { Self.bodiesInBudget * maxBodyBytes }

        /// Creates a configuration.
        public init(
            listen: ListenAddress,
            maxBodyBytes: Int = Configuration.defaultMaxBodyBytes,
            maxConnections: Int = Configuration.defaultMaxConnections,
            idleTimeout: Duration = Configuration.defaultIdleTimeout,
            stallTimeout: Duration = Configuration.defaultStallTimeout,
            powerAnnotations: PowerAnnotations = PowerAnnotations(),
            metricsListen: ListenAddress? = nil
        ) {
            self.listen = listen
            self.metricsListen = metricsListen
            self.maxBodyBytes = maxBodyBytes
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
            self.stallTimeout = stallTimeout
            self.powerAnnotations = powerAnnotations
        }
    }

    /// Builds the application (a `Service`). The knowledge-base reloader and the node view
    /// watcher (when given) run as its services, so they start and stop with the server.
    ///
    /// The metrics listener, when configured, is one of its services too.
    ///
    /// - Parameters:
    ///   - onServerRunning: called once the socket is bound, with the bound port.
    ///   - onMetricsServerRunning: called once the metrics listener's socket is bound, with its port.
    public static func makeApplication(
        configuration: Configuration,
        watcher: KnowledgeBaseWatcher,
        nodeView: NodeViewWatcher? = nil,
        metrics: ExtenderMetrics,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onMetricsServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        metrics.recordInitialLoad(generation: watcher.generation)
        let router = Router(context: ExtenderRequestContext.self)
        let limit = configuration.maxBodyBytes
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let stallTimeout = TimeAmount(configuration.stallTimeout)
        let budget = BodyBudget(limit: configuration.bodyBudgetBytes)
        // One body at a time becomes a JSON tree and a score: parsing costs many times the
        // body, and the sidecar's quarter of a core gains nothing from parsing two at once.
        // A thread of its own, too, so that a large body never holds up the cooperative pool.
        let scoring = DispatchQueue(label: "energy-monitor.extender.scoring")
        let annotations = configuration.powerAnnotations
        let handlerLogger = logger
        /// The handler for one request, over the knowledge base in use right now.
        @Sendable func makeHandler() -> ExtenderHandler {
            ExtenderHandler(
                knowledgeBase: watcher.current,
                powerAnnotations: annotations,
                nodeView: nodeView?.current,
                logger: handlerLogger,
                onDiagnostics: { metrics.recordDiagnostics($0) }
            )
        }
        let exchange = Exchange(
            limit: limit, budget: budget, scoring: scoring, metrics: metrics, oversized: OversizedCallLog(),
            logger: logger)
        let gate = AdmissionGate(limit: configuration.maxConnections)
        router.post("\(pathPrefix)/prioritize") { request, context -> Response in
            await exchange.answer(.prioritize, request: request, channel: context.channel) {
                makeHandler().prioritize(body: $0, now: Date())
            }
        }
        router.post("\(pathPrefix)/filter") { request, context -> Response in
            await exchange.answer(.filter, request: request, channel: context.channel) {
                makeHandler().filter(body: $0)
            }
        }
        addHealthAndMetrics(to: router, metrics: metrics)
        var services: [any Service] = [KnowledgeBaseReloader(watcher: watcher, metrics: metrics, logger: logger)]
        if let nodeView { services.append(nodeView) }
        if let address = configuration.metricsListen {
            services.append(
                makeMetricsApplication(
                    listen: address, metrics: metrics, stallTimeout: configuration.stallTimeout,
                    idleTimeout: configuration.idleTimeout, logger: logger, onServerRunning: onMetricsServerRunning))
        }
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionLimits(
                            sendBufferBytes: sendBufferBytes, readBytes: readBytes, stallTimeout: stallTimeout),
                        // `GET /healthz` on the event loop: the sidecar's liveness probe never
                        // waits behind scheduler calls. The connection limit already bounds
                        // the requests in progress, so the gate refuses nothing below it.
                        AdmissionHandler(gate: gate),
                    ],
                    idleTimeout: idleTimeout,
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes)
                )
            ),
            configuration: .init(
                address: .hostname(configuration.listen.host, port: configuration.listen.port),
                serverName: "energy-monitor-extender",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)
            ),
            services: services,
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? configuration.listen.port)
            },
            logger: logger
        )
    }

    /// Why a body was not read.
    private enum BodyRefusal: Error {
        /// Over the limit: the bytes and Node objects it had (the rest drained and counted).
        case tooLarge(bytes: Int?, nodes: Int)
        case overBudget
    }

    /// The most of an oversized body read (and dropped) to count its Node objects; a larger
    /// one is left unread and its connection closed.
    static let maxDrainedBytes = 256 << 20

    /// What every scheduler call shares: the limits, the byte budget, the scoring queue.
    private struct Exchange: Sendable {
        let limit: Int
        let budget: BodyBudget
        let scoring: DispatchQueue
        let metrics: ExtenderMetrics
        let oversized: OversizedCallLog
        let logger: Logger

        /// Reads the body within the limit and the budget, runs `handle` on it on the scoring
        /// queue and counts the answer, which holds its bytes of the budget until written.
        func answer(
            _ endpoint: ExtenderMetrics.Endpoint,
            request: Request,
            channel: any Channel,
            handle: @escaping @Sendable (Data) -> (status: Int, body: Data)
        ) async -> Response {
            let start = ContinuousClock.now
            let reservation = budget.makeReservation()
            let code: ExtenderMetrics.Code
            let response: Response
            do {
                let body = try await readBody(request, into: reservation)
                let result = await withCheckedContinuation { continuation in
                    scoring.async { continuation.resume(returning: handle(body)) }
                }
                guard reservation.exchange(for: result.body.count) else { throw BodyRefusal.overBudget }
                code = ExtenderMetrics.Code(handlerStatus: result.status)
                response = Response(
                    status: HTTPResponse.Status(code: result.status),
                    headers: [.contentType: ExtenderHandler.contentType(forStatus: result.status)],
                    body: ResponseBody(contentLength: result.body.count) { writer in
                        try await writer.write(ByteBuffer(bytes: result.body))
                        try await writer.finish(nil)
                        // The answer counts until the kernel has taken it: one its client
                        // does not read waits here until `ConnectionLimits` closes the connection.
                        // (Queued on the event loop after the writes, so it sees them.)
                        try? await channel.eventLoop.flatSubmit { ConnectionLimits.whenDrained(channel) }.get()
                        reservation.release()
                    }
                )
            } catch BodyRefusal.tooLarge(let bytes, let nodes) {
                code = .contentTooLarge
                metrics.recordOversized(endpoint)
                oversized.record(endpoint, bytes: bytes, nodes: nodes, limit: limit, logger: logger)
                response = text(
                    .contentTooLarge,
                    "request body larger than \(limit) bytes\(nodes > 0 ? " (\(nodes) Node objects)" : ""): "
                        + "use nodeCacheCapable: true with the extender's --watch-nodes, or a larger --max-body-bytes\n"
                )
            } catch BodyRefusal.overBudget {
                code = .serviceUnavailable
                response = text(
                    .serviceUnavailable,
                    "busy: requests in flight hold all \(budget.limit) bytes the extender keeps at once\n")
            } catch {
                code = .badRequest
                response = text(.badRequest, "cannot read request body: \(error)\n")
            }
            metrics.recordRequest(endpoint, code: code, seconds: (ContinuousClock.now - start).seconds)
            return response
        }

        /// The body's bytes, each chunk taken from the budget as it arrives: a client that
        /// sends slowly holds only what it has sent.
        private func readBody(_ request: Request, into reservation: BodyBudget.Reservation) async throws -> Data {
            let declared = request.headers[.contentLength].flatMap { Int($0) }
            var body = Data()
            var counter: NodeObjectCounter?
            if let declared, declared > limit { counter = NodeObjectCounter() }
            // Sized once when the length is known: growing by doubling would hold twice the body.
            if counter == nil, let declared, declared > 0 { body.reserveCapacity(declared) }
            for try await chunk in request.body {
                if counter != nil {
                    // Too large already: read on only to count the Node objects, keeping nothing.
                    counter?.feed(chunk.readableBytesView)
                    if let read = counter?.bytes, read > ExtenderServer.maxDrainedBytes { break }
                    continue
                }
                guard body.count + chunk.readableBytes <= limit else {
                    var started = NodeObjectCounter()
                    started.feed(body)
                    started.feed(chunk.readableBytesView)
                    body = Data()
                    reservation.release()
                    counter = started
                    continue
                }
                guard reservation.take(chunk.readableBytes) else { throw BodyRefusal.overBudget }
                body.append(contentsOf: chunk.readableBytesView)
            }
            if let counter { throw BodyRefusal.tooLarge(bytes: declared ?? counter.bytes, nodes: counter.count) }
            return body
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: ExtenderHandler.errorContentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

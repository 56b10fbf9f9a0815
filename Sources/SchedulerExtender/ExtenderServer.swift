import Foundation
import Hummingbird
import Logging
import NIOCore
import Scoring

/// The scheduler-extender HTTP server: kube-scheduler's `extenders:` calls, health and metrics.
///
/// | route | answer |
/// |---|---|
/// | `POST /scheduler/prioritize` | `HostPriorityList` (`[{"Host":…,"Score":0...10}]`) |
/// | `POST /scheduler/filter` | `ExtenderFilterResult` |
/// | `GET /healthz` | `ok` |
/// | `GET /metrics` | request, diagnostic and reload counters (text format 0.0.4) |
///
/// A malformed body gets 400, a body over ``Configuration/maxBodyBytes`` 413, both with one
/// line of `text/plain` saying why. Each request scores with the knowledge base the watcher
/// holds at that moment, so a reload applies from the next request on.
public enum ExtenderServer {
    /// `Content-Type` of the Prometheus text exposition format 0.0.4.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    /// The path prefix kube-scheduler's `urlPrefix` ends in.
    public static let pathPrefix = "/scheduler"

    /// Where and how the server listens.
    public struct Configuration: Sendable {
        /// Host or IP address to bind (`127.0.0.1` for a sidecar next to kube-scheduler).
        public var host: String
        /// TCP port; 0 picks a free one (see `onServerRunning`).
        public var port: Int
        /// Largest accepted request body. With `nodeCacheCapable: false` the scheduler sends
        /// every candidate node object, a few kilobytes each, so the default leaves room for
        /// clusters of a few thousand nodes while still bounding memory per request.
        public var maxBodyBytes: Int
        /// Names and freshness limit of the node power annotations.
        public var powerAnnotations: PowerAnnotations

        /// The default body limit, 16 MiB.
        public static let defaultMaxBodyBytes = 16 << 20

        /// Creates a configuration.
        public init(
            host: String,
            port: Int,
            maxBodyBytes: Int = Configuration.defaultMaxBodyBytes,
            powerAnnotations: PowerAnnotations = PowerAnnotations()
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.powerAnnotations = powerAnnotations
        }

        /// Parses a listen address: `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all IPv4 interfaces).
        public init(listen: String, maxBodyBytes: Int = Configuration.defaultMaxBodyBytes) throws(ListenAddressError) {
            let host: Substring
            let portText: Substring
            if listen.hasPrefix("[") {
                guard let close = listen.firstIndex(of: "]"),
                    listen[listen.index(after: close)...].hasPrefix(":")
                else { throw ListenAddressError(address: listen) }
                host = listen[listen.index(after: listen.startIndex)..<close]
                portText = listen[listen.index(close, offsetBy: 2)...]
            } else {
                guard let colon = listen.lastIndex(of: ":") else { throw ListenAddressError(address: listen) }
                host = listen[..<colon]
                portText = listen[listen.index(after: colon)...]
                guard !host.contains(":") else { throw ListenAddressError(address: listen) }
            }
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (0...65535).contains(port), !host.contains(" ") else {
                throw ListenAddressError(address: listen)
            }
            self.init(host: host.isEmpty ? "0.0.0.0" : String(host), port: port, maxBodyBytes: maxBodyBytes)
        }
    }

    /// A listen address that is not `HOST:PORT`.
    public struct ListenAddressError: Error, Sendable, CustomStringConvertible {
        /// The address as given.
        public let address: String
        /// One line naming the address and the expected form.
        public var description: String {
            "\"\(address)\" is not HOST:PORT, [IPv6]:PORT or :PORT with a port in 0...65535"
        }
    }

    /// Builds the application (a `Service`). The knowledge-base reloader runs as one of its
    /// services, so it starts and stops with the server.
    ///
    /// - Parameter onServerRunning: called once the socket is bound, with the bound port.
    public static func makeApplication(
        configuration: Configuration,
        watcher: KnowledgeBaseWatcher,
        metrics: ExtenderMetrics,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        metrics.recordInitialLoad(generation: watcher.generation)
        let router = Router()
        let limit = configuration.maxBodyBytes
        let annotations = configuration.powerAnnotations
        let handlerLogger = logger
        /// The handler for one request, over the knowledge base in use right now.
        @Sendable func makeHandler() -> ExtenderHandler {
            ExtenderHandler(
                knowledgeBase: watcher.current,
                powerAnnotations: annotations,
                logger: handlerLogger,
                onDiagnostics: { metrics.recordDiagnostics($0) }
            )
        }
        router.post("\(pathPrefix)/prioritize") { request, _ -> Response in
            await answer(.prioritize, request: request, limit: limit, metrics: metrics) { body in
                makeHandler().prioritize(body: body, now: Date())
            }
        }
        router.post("\(pathPrefix)/filter") { request, _ -> Response in
            await answer(.filter, request: request, limit: limit, metrics: metrics) { body in
                makeHandler().filter(body: body)
            }
        }
        router.get("/healthz") { _, _ -> Response in
            text(.ok, "ok\n")
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: metricsContentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "energy-monitor-extender"
            ),
            services: [KnowledgeBaseReloader(watcher: watcher, metrics: metrics)],
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
    }

    /// Reads the body within the limit, runs `handle` on it and counts the answer.
    private static func answer(
        _ endpoint: ExtenderMetrics.Endpoint,
        request: Request,
        limit: Int,
        metrics: ExtenderMetrics,
        handle: ([UInt8]) -> (status: Int, body: Data)
    ) async -> Response {
        let start = ContinuousClock.now
        let status: Int
        let response: Response
        do {
            let buffer = try await request.body.collect(upTo: limit)
            let result = handle(Array(buffer.readableBytesView))
            status = result.status
            response = Response(
                status: HTTPResponse.Status(code: result.status),
                headers: [.contentType: ExtenderHandler.contentType(forStatus: result.status)],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: result.body))
            )
        } catch is NIOTooManyBytesError {
            status = 413
            response = text(.contentTooLarge, "request body larger than \(limit) bytes\n")
        } catch {
            status = 400
            response = text(.badRequest, "cannot read request body: \(error)\n")
        }
        metrics.recordRequest(endpoint, status: status, seconds: (ContinuousClock.now - start).seconds)
        return response
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

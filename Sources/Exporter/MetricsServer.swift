import HTTPAdmission
import Hummingbird
import Logging
import NIOCore

/// The HTTP face of the service: `/metrics`, `/healthz`, `/readyz`, and (given a
/// `DashboardAPI`) the dashboard at `/` with its JSON API under `/api/v1/`.
public enum MetricsServer {
    /// `Content-Type` of the Prometheus text exposition format 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Connections that stay silent this long (no request bytes, or a response not read) are
    /// closed, so slow or stuck clients cannot pile up.
    public static let idleTimeout = TimeAmount.seconds(15)

    /// Requests in progress at once; beyond it a request is answered `503` with `Retry-After`
    /// on the event loop (see `AdmissionHandler`). Prometheus, a dashboard or two and the
    /// probes need a handful; a flood of a thousand clients gets quick refusals instead of
    /// a queue that grows with every second.
    public static let defaultMaxRequestsInProgress = 64

    /// A Hummingbird application (a `Service`) listening on `host:port`.
    /// - Parameters:
    ///   - readiness: returns nil when ready, else the reason it is not.
    ///   - dashboard: the store-backed API of the dashboard; without it `/` is not served.
    ///   - routes: further GET routes (e.g. a dashboard panel's data).
    public static func makeApplication(
        host: String,
        port: Int,
        metrics: MonitorMetrics,
        readiness: @escaping @Sendable () async -> String?,
        dashboard: DashboardAPI? = nil,
        routes: [ExtraRoute] = [],
        maxRequestsInProgress: Int = defaultMaxRequestsInProgress,
        logger: Logger
    ) -> some ApplicationProtocol {
        let gate = AdmissionGate(limit: maxRequestsInProgress, onRefusal: { metrics.recordRefusedRequest() })
        let router = Router()
        if let dashboard { DashboardRoutes.register(on: router, api: dashboard, logger: logger) }
        for route in routes {
            router.get(RouterPath(route.path)) { _, _ -> Response in
                let answer = await route.answer()
                return Response(
                    status: HTTPResponse.Status(code: answer.status),
                    headers: [.contentType: answer.contentType, .cacheControl: "no-store"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
                )
            }
        }
        router.get("/metrics") { _, _ -> Response in
            let bytes = metrics.render()
            return Response(
                status: .ok,
                headers: [.contentType: contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
            )
        }
        // `GET /healthz` is answered on the event loop by `AdmissionHandler`; this route
        // serves what reaches the router anyway (a pipelined request, `HEAD`).
        router.get("/healthz") { _, _ -> Response in
            text(.ok, "ok\n")
        }
        router.get("/readyz") { _, _ -> Response in
            if let reason = await readiness() {
                return text(.serviceUnavailable, "not ready: \(reason)\n")
            }
            return text(.ok, "ready\n")
        }
        return Application(
            router: router,
            // A client that connects and then sends or reads nothing would otherwise hold its
            // connection (and file descriptor) for ever; Prometheus scrapes finish in well under it.
            server: .http1(
                configuration: .init(
                    // The readiness check asks the store: never refused, so that a flood does
                    // not take the service out of its Service's endpoints.
                    additionalChannelHandlers: [AdmissionHandler(gate: gate, exempt: ["/readyz"])],
                    idleTimeout: idleTimeout)),
            // A deep accept queue: a burst of a thousand connections must not push a probe's
            // connection into SYN retries (1 s, then 3 s) before anything reads it.
            configuration: .init(address: .hostname(host, port: port), serverName: "energy-monitor", backlog: 4096),
            logger: logger
        )
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}

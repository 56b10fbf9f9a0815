import HTTPAdmission
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import UserInput

extension ExtenderServer {
    /// Connections the metrics listener serves at once: Prometheus keeps one per server, so a
    /// few are plenty, and whatever else reaches the pod's address cannot hold more.
    public static let metricsListenerConnections = 16

    /// `GET /healthz` and `GET /metrics`, as both listeners answer them.
    static func addHealthAndMetrics(to router: Router<ExtenderRequestContext>, metrics: ExtenderMetrics) {
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
    }

    /// The second listener (``Configuration/metricsListen``): `GET /metrics` and `GET /healthz`
    /// only, anything else `404`.
    ///
    /// The scheduler's calls stay on the main listener, on loopback beside kube-scheduler, where
    /// nothing else in the cluster can send them; this one may listen on the pod's address for
    /// Prometheus (a Service and its ServiceMonitor, or scrape annotations) without opening the
    /// scoring routes to the network. It shares the metrics, not the byte budget or the
    /// connections of the scheduler's listener, and runs as a service of the main application.
    static func makeMetricsApplication(
        listen: ListenAddress,
        metrics: ExtenderMetrics,
        stallTimeout: Duration,
        idleTimeout: Duration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: ExtenderRequestContext.self)
        addHealthAndMetrics(to: router, metrics: metrics)
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionLimits(
                            sendBufferBytes: sendBufferBytes, readBytes: readBytes,
                            stallTimeout: TimeAmount(stallTimeout)),
                        AdmissionHandler(gate: AdmissionGate(limit: metricsListenerConnections)),
                    ],
                    idleTimeout: TimeAmount(idleTimeout),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes)
                )
            ),
            configuration: .init(
                address: .hostname(listen.host, port: listen.port),
                serverName: "energy-monitor-extender",
                availableConnectionsDelegate: MaximumAvailableConnections(metricsListenerConnections)
            ),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? listen.port)
            },
            logger: logger
        )
    }
}

import CurlClient
import Exporter
import Kubernetes
import Logging
import NodeAnnotations
import Store

extension Monitor {
    /// The node annotation publisher when `kubernetes.annotate` is on: connected through
    /// `kubernetes.kubeconfig`/`context` when given, else in-cluster or the default
    /// kubeconfig. Its writes share the poll client's thread but never its deadlines.
    static func makeAnnotationPublisher(
        configuration: MonitorConfiguration,
        connection given: KubernetesConnection?,
        http: CurlMultiClient,
        metrics: MonitorMetrics,
        logger: Logger
    ) throws(KubernetesConfigurationError) -> AnnotationPublisher? {
        let settings = configuration.kubernetes
        guard settings.annotate else { return nil }
        let connection: KubernetesConnection
        if let given {
            connection = given
        } else {
            connection = try KubernetesConnection.resolve(
                kubeconfig: settings.kubeconfig, context: settings.context, logger: logger)
        }
        logger.info(
            "publishing node annotations",
            metadata: [
                "server": "\(connection.server)", "from": "\(connection.origin)",
                "credentials": "\(connection.credentials)", "prefix": "\(settings.prefix)",
            ]
        )
        let client = KubernetesClient(connection: connection, http: http, logger: logger)
        return AnnotationPublisher(
            nodes: configuration.nodes,
            prefix: settings.prefix,
            policy: AnnotationPolicy(
                heartbeatMilliseconds: settings.heartbeatMilliseconds, deadbandWatts: settings.deadbandWatts),
            patcher: client,
            logger: logger,
            onResult: { [metrics] node, result in metrics.recordAnnotationPatch(node: node, result: result) }
        )
    }
}

extension Monitor {
    /// The per-pod energy service when `kubernetes.podEnergy` is on, connected as the
    /// annotation publisher is.
    static func makePodEnergyService(
        configuration: MonitorConfiguration,
        connection given: KubernetesConnection?,
        store: EnergyStore,
        http: CurlMultiClient,
        metrics: MonitorMetrics,
        logger: Logger
    ) throws(KubernetesConfigurationError) -> PodEnergyService? {
        let settings = configuration.kubernetes
        guard settings.podEnergy.enabled else { return nil }
        let connection: KubernetesConnection
        if let given {
            connection = given
        } else {
            connection = try KubernetesConnection.resolve(
                kubeconfig: settings.kubeconfig, context: settings.context, logger: logger)
        }
        let client = KubernetesClient(connection: connection, http: http, logger: logger)
        return PodEnergyService(
            configuration: configuration, store: store, client: client, metrics: metrics, logger: logger)
    }
}

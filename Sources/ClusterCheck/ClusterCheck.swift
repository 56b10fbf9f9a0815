import Foundation
import JSON
import Kubernetes
import Scoring

/// What a careful operator runs after installing (`energy-monitor check`), in the spirit of
/// `linkerd check`: the API server and its version; the monitor's and the extender's
/// permissions, asked with `SelfSubjectAccessReview` as their service accounts for exactly
/// what their code sends; the node guard policy; the plugs' nodes against the cluster's nodes;
/// fresh power annotations on every plug node; the knowledge base against the nodes; the
/// second scheduler running, its version within skew, its configuration naming the extender;
/// and the monitor's metrics. One ``CheckResult`` per check.
public struct ClusterCheck: Sendable {
    /// Where the installation's parts are, as `k8s/` installs them.
    public struct Configuration: Sendable {
        /// The monitor's namespace.
        public var monitorNamespace = "energy-monitor"
        /// The monitor's service account.
        public var monitorServiceAccount = "energy-monitor"
        /// The ConfigMap holding the monitor's `config.yaml`.
        public var monitorConfigMap = "energy-monitor-config"
        /// The monitor's Service and port name, for its metrics through the API server's proxy.
        public var monitorService = "energy-monitor:http"
        /// The second scheduler's namespace.
        public var schedulerNamespace = "kube-system"
        /// The second scheduler's Deployment.
        public var schedulerDeployment = "my-energy-scheduler"
        /// Its service account (the extender sidecar's too).
        public var schedulerServiceAccount = "my-energy-scheduler"
        /// The ConfigMap holding its `scheduler-config.yaml`.
        public var schedulerConfigMap = "my-energy-scheduler-config"
        /// The ConfigMap holding the knowledge base (`profiles.yaml`).
        public var knowledgeBaseConfigMap = "scheduler-knowledge-base"
        /// The scheduler name pods choose.
        public var schedulerName = "my-energy-scheduler"
        /// The ValidatingAdmissionPolicy that keeps the monitor to its annotations.
        public var nodeGuardPolicy = "energy-monitor-node-annotations-only"
        /// The monitor's configuration as given (`--config`); nil: from its ConfigMap.
        public var monitorConfiguration: (text: String, source: String)?
        /// The knowledge base as given (`--knowledge-base`); nil: from its ConfigMap.
        public var knowledgeBase: KnowledgeBase?
        /// Reads the monitor's `/metrics` (`--monitor-url`); nil: through the API server's
        /// service proxy.
        public var fetchMetrics: (@Sendable () async throws -> String)?
        /// The clock the annotations' age is measured by, read when the nodes have been
        /// listed (not when the check started: the checks before may take a while).
        public var clock: @Sendable () -> Date = { Date() }

        /// The installation's defaults.
        public init() {}
    }

    /// The exact requests the monitor sends (`k8s/monitor-rbac.yaml`).
    public static let monitorUses: [(verb: String, resource: String)] = [("patch", "nodes")]
    /// The exact requests the extender's node view sends (`k8s/scheduler/rbac.yaml`).
    public static let extenderUses: [(verb: String, resource: String)] = [
        ("get", "nodes"), ("list", "nodes"), ("watch", "nodes"),
    ]

    let client: KubernetesClient
    let configuration: Configuration

    /// A check through `client` (connected as the operator).
    public init(client: KubernetesClient, configuration: Configuration = Configuration()) {
        self.client = client
        self.configuration = configuration
    }

    /// Runs every check. When the API server cannot be reached, that is the only line.
    public func run() async -> CheckReport {
        let (apiResult, serverVersion) = await checkAPIServer()
        guard apiResult.status != .fail else { return CheckReport(results: [apiResult]) }
        var results = [apiResult]
        results.append(
            await checkPermissions(
                name: "monitor-permissions", account: configuration.monitorServiceAccount,
                namespace: configuration.monitorNamespace, uses: Self.monitorUses, rbacFile: "k8s/monitor-rbac.yaml"))
        results.append(
            await checkPermissions(
                name: "extender-permissions", account: configuration.schedulerServiceAccount,
                namespace: configuration.schedulerNamespace, uses: Self.extenderUses,
                rbacFile: "k8s/scheduler/rbac.yaml"))
        let settings = await monitorSettings()
        results.append(await checkNodeGuard(prefix: (try? settings.get())?.prefix))
        let nodes = await clusterNodes()
        results += checkNodes(settings: settings, nodes: nodes)
        results.append(await checkKnowledgeBase(nodes: nodes, unmetered: Set((try? settings.get())?.unmetered ?? [])))
        let deployment = await schedulerDeployment()
        results.append(checkScheduler(deployment))
        results.append(checkSchedulerVersion(deployment, server: serverVersion))
        results.append(await checkSchedulerConfiguration(deployment))
        results.append(await checkMetrics())
        return CheckReport(results: results)
    }

    // MARK: - Helpers

    /// A failed request as one line, with the hint a 403 deserves.
    static func describe(_ error: KubernetesRequestError) -> String {
        error.description
    }

    /// A ConfigMap's `data[key]`.
    func configMapValue(namespace: String, name: String, key: String) async throws(CheckFailure) -> String {
        let bytes: [UInt8]
        do {
            bytes = try await client.get(path: "/api/v1/namespaces/\(namespace)/configmaps/\(name)")
        } catch {
            throw CheckFailure("cannot read ConfigMap \(namespace)/\(name): \(error)", status: error.status?.code)
        }
        guard let text = JSONValue.parse(bytes)?["data"]?[key]?.string else {
            throw CheckFailure("ConfigMap \(namespace)/\(name) has no key \(key)", status: nil)
        }
        return text
    }
}

/// Why a piece of the installation could not be read, in one line.
struct CheckFailure: Error, Sendable {
    var message: String
    /// The API server's status code, when it answered.
    var status: Int?

    init(_ message: String, status: Int?) {
        self.message = message
        self.status = status
    }
}

import JSON
import Kubernetes
import Logging
import Scoring
import ServiceLifecycle
import Synchronization

/// Keeps the extender's ``NodeView``: lists the nodes in pages and watches them, the way
/// client-go's reflector does (``ResumableWatch``), keeping of each node only its power
/// annotations (`<prefix>/...`). Needs `get`, `list` and `watch` on `nodes`
/// (`k8s/scheduler/rbac.yaml`). A watch that fails for good (RBAC, credentials) is logged,
/// marks the view as not current and is started again after ``restartDelay``; the extender
/// keeps serving meanwhile, scoring the nodes it cannot see without their power.
public final class NodeViewWatcher: Service, Sendable {
    private let client: KubernetesClient
    private let prefix: String
    private let metrics: ExtenderMetrics
    private let logger: Logger
    private let restartDelay: Duration
    private let view = Mutex(NodeView())

    /// The RBAC file that grants the extender its node access.
    public static let rbacFile = "k8s/scheduler/rbac.yaml"

    /// A watcher through `client`, keeping the annotations under `annotationPrefix/`.
    public init(
        client: KubernetesClient, annotationPrefix: String, metrics: ExtenderMetrics, logger: Logger,
        restartDelay: Duration = .seconds(30)
    ) {
        self.client = client
        self.prefix = annotationPrefix + "/"
        self.metrics = metrics
        self.logger = logger
        self.restartDelay = restartDelay
    }

    /// The view as of now (a copy: requests score with the view of their start).
    public var current: NodeView { view.withLock { $0 } }

    /// Follows the nodes until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.follow()
                } catch is CancellationError {
                    return
                } catch {
                    let line = Self.describe(error)
                    self.logger.error("node view: \(line)", metadata: ["server": "\(self.client.connection.server)"])
                    self.view.withLock { view in
                        view.isSynced = false
                        view.problem = line
                    }
                    self.metrics.recordNodeView(nodes: nil)
                }
                try? await Task.sleep(for: self.restartDelay)
            }
        }
    }

    private func follow() async throws {
        let client = self.client
        let prefix = self.prefix
        let watch = ResumableWatch(
            client: client, watchPath: "/api/v1/nodes", patienceMilliseconds: 600_000, afterGone: .list,
            onRetry: { [logger] error, delay in
                logger.notice("node view: \(error); watching again in \(delay) ms")
            }
        ) { () throws(KubernetesRequestError) in
            // Page by page, and of each node only what scoring reads: a list of thousands of
            // Node objects is never held whole.
            var nodes: [JSONValue] = []
            let version = try await client.list(path: "/api/v1/nodes") { page in
                if page.startsOver { nodes.removeAll() }
                nodes += page.items.map { Self.reduced($0, prefix: prefix) }
            }
            return (nodes, version)
        }
        for try await update in watch.updates() {
            let count = view.withLock { view -> Int in
                switch update {
                case .listed(let nodes):
                    var annotations: [String: [String: String]] = [:]
                    annotations.reserveCapacity(nodes.count)
                    for node in nodes {
                        if let (name, power) = Self.power(of: node, prefix: prefix) { annotations[name] = power }
                    }
                    view = NodeView(annotations: annotations, isSynced: true)
                case .event(let event):
                    guard let (name, power) = Self.power(of: event.object, prefix: prefix) else { break }
                    if event.kind == .deleted {
                        view.annotations.removeValue(forKey: name)
                    } else {
                        view.annotations[name] = power
                    }
                }
                return view.annotations.count
            }
            metrics.recordNodeView(nodes: count)
        }
    }

    /// A node with nothing but its name and power annotations.
    static func reduced(_ node: JSONValue, prefix: String) -> JSONValue {
        guard let (name, power) = power(of: node, prefix: prefix) else { return .null }
        return ["metadata": ["name": .string(name), "annotations": .object(power.mapValues { .string($0) })]]
    }

    /// A node's name and its annotations under `prefix`.
    static func power(of node: JSONValue, prefix: String) -> (String, [String: String])? {
        guard let name = node["metadata"]?["name"]?.string else { return nil }
        var power: [String: String] = [:]
        for (key, value) in node["metadata"]?["annotations"]?.object ?? [:] where key.hasPrefix(prefix) {
            if let text = value.string { power[key] = text }
        }
        return (name, power)
    }

    /// One line, with what to do for the failures an operator can fix.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? KubernetesRequestError else { return "\(error)" }
        switch error.status?.code {
        case 403:
            return "\(error) (RBAC: the extender's service account needs get, list and watch on nodes: "
                + "kubectl apply -f \(rbacFile))"
        case 401:
            return "\(error) (the API server refused the extender's credentials)"
        default:
            return "\(error)"
        }
    }
}

import Foundation
import Hummingbird
import JSON
import Kubernetes
import Logging
import ServiceLifecycle
import Synchronization

/// A small Kubernetes API server in this process, for tests and for running the experiment
/// harness without a cluster: nodes, Jobs and their pods, bindings and watches, over plain
/// HTTP on loopback, with a lifecycle the caller controls and faults it can inject.
///
/// | request | what it does |
/// |---|---|
/// | `GET /api/v1/nodes[/NAME]`, `PATCH /api/v1/nodes/NAME` | nodes; a JSON merge patch of labels and annotations (the monitor's power annotations) |
/// | `GET /api/v1[/namespaces/NS]/pods[/NAME]`, `DELETE .../pods/NAME` | pods (label and field selectors) |
/// | `POST /api/v1/namespaces/NS/pods/NAME/binding` | binds a pending pod (what a scheduler does) |
/// | `GET /apis/batch/v1[/namespaces/NS]/jobs[/NAME]`, `POST .../jobs`, `DELETE .../jobs/NAME` | Jobs; deleting honours `propagationPolicy` (the default, as for the real API, orphans the pods) |
/// | `?watch=1&resourceVersion=RV&timeoutSeconds=N` on any collection | a watch stream: replayed from `RV`, `410 Gone` (an `ERROR` event) when `RV` is older than the history; without `RV`, every current object as `ADDED` first |
/// | `?limit=N&continue=T` on any list | pages; a continuation older than the history is `410 Gone` |
/// | `GET /version` | the server's version (`serverVersion`) |
/// | `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` | whether the caller (or the user it impersonates) may do something |
/// | `GET` of other objects (`objects`: ConfigMaps, Deployments, admission policies) | the object, or a list of its kind |
/// | `GET /api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH` | what `serviceProxy` answers |
/// | `GET /apis/metrics.k8s.io/v1beta1[/nodes[/NAME]]`, `.../[namespaces/NS/]pods[/NAME]` | metrics-server's CPU usage from the `metrics` model and the loads set with `setCPULoad`/`setSystemLoad`; 404 without a model, as without metrics-server |
///
/// `Impersonate-User` makes a request act as that user, with its permissions from `subjects`.
///
/// A created Job gets a pod at once; the `PodLifecycle` says where it goes and how it runs;
/// a failed pod is replaced until `backoffLimit` is exceeded, an evicted one without counting
/// when the Job's `podFailurePolicy` ignores `DisruptionTarget`. Times are the wall clock,
/// written in whole seconds as the API server does.
public final class ClusterSimulator: Sendable {
    /// What the simulated cluster is.
    public struct Configuration: Sendable {
        /// Address to listen on (loopback: the simulator has no TLS and no real auth).
        public var host: String
        /// Port; 0 picks a free one.
        public var port: Int
        /// The nodes.
        public var nodes: [SimulatedNode]
        /// A bearer token every request must carry, nil for none.
        public var token: String?
        /// The verbs allowed per resource (`jobs`, `pods`, `pods/binding`, `nodes`), as an RBAC
        /// Role grants them; nil allows everything.
        public var permissions: [String: Set<String>]?
        /// The user RBAC messages name.
        public var user: String
        /// Watch events kept for resuming; older resource versions get `410 Gone`.
        public var historyLimit: Int
        /// How long the Job controller takes to replace a failed pod.
        public var replacementDelay: Duration
        /// How long a watch without `timeoutSeconds` lasts.
        public var defaultWatchTimeoutSeconds: Int
        /// How often a watch that allows bookmarks gets one (the API server sends them about
        /// once a minute; sooner here, so that a client that left is noticed soon).
        public var bookmarkInterval: Duration
        /// What `GET /version` says (`gitVersion`; major and minor are read from it).
        public var serverVersion: String
        /// The permissions of other users (service accounts), by user name, as `permissions`
        /// gives them for `user`: what a request impersonating them may do, and what a
        /// `SelfSubjectAccessReview` made as them answers. A user not listed may do nothing.
        public var subjects: [String: [String: Set<String>]]
        /// Objects of other kinds served by `GET` (ConfigMaps, Deployments, Services,
        /// ValidatingAdmissionPolicies), each with `kind` and `metadata.name`.
        public var objects: [JSONValue]
        /// The answer of the service proxy: namespace, service (with `:port` if given) and the
        /// path after `/proxy`; nil answers 503 as for a service without endpoints.
        public var serviceProxy: (@Sendable (String, String, String) async -> (status: Int, body: [UInt8])?)?
        /// The metrics-server behind `metrics.k8s.io/v1beta1`; nil: none is installed, and
        /// every path of that API answers 404. Its resources are permitted and matched by
        /// `nodes.metrics.k8s.io` and `pods.metrics.k8s.io` (the plain names are the core group's).
        public var metrics: ResourceMetricsModel?

        /// Creates a configuration.
        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            nodes: [SimulatedNode],
            token: String? = nil,
            permissions: [String: Set<String>]? = nil,
            user: String = "system:serviceaccount:default:workflow-runner",
            historyLimit: Int = 10_000,
            replacementDelay: Duration = .milliseconds(100),
            defaultWatchTimeoutSeconds: Int = 300,
            bookmarkInterval: Duration = .seconds(1),
            serverVersion: String = "v1.33.4+k3s1",
            subjects: [String: [String: Set<String>]] = [:],
            objects: [JSONValue] = [],
            serviceProxy: (@Sendable (String, String, String) async -> (status: Int, body: [UInt8])?)? = nil,
            metrics: ResourceMetricsModel? = nil
        ) {
            self.host = host
            self.port = port
            self.nodes = nodes
            self.token = token
            self.permissions = permissions
            self.user = user
            self.historyLimit = max(1, historyLimit)
            self.replacementDelay = replacementDelay
            self.defaultWatchTimeoutSeconds = defaultWatchTimeoutSeconds
            self.bookmarkInterval = bookmarkInterval
            self.serverVersion = serverVersion
            self.subjects = subjects
            self.objects = objects
            self.serviceProxy = serviceProxy
            self.metrics = metrics
        }
    }

    /// A failed control call (no such pod, a pod already finished), in one line.
    public struct ControlError: Error, Sendable, CustomStringConvertible {
        /// One line.
        public let description: String
    }

    /// The configuration in use.
    public let configuration: Configuration
    let state: ClusterState
    private let logger: Logger
    private let server = Mutex<(task: Task<Void, any Error>?, group: ServiceGroup?, port: Int?)>((nil, nil, nil))

    /// Creates the simulator; `start()` makes it listen. Without a `logger`, only warnings
    /// and errors are logged.
    public init(configuration: Configuration, lifecycle: any PodLifecycle, logger: Logger? = nil) {
        let logger =
            logger
            ?? {
                var logger = Logger(label: "cluster-simulator")
                logger.logLevel = .warning
                return logger
            }()
        self.configuration = configuration
        self.logger = logger
        self.state = ClusterState(configuration: configuration, lifecycle: lifecycle, logger: logger)
    }

    /// Listens (in a task of its own) and returns the bound port once it accepts connections.
    @discardableResult
    public func start() async throws -> Int {
        try await listen(port: configuration.port)
    }

    private func listen(port requested: Int) async throws -> Int {
        let responder = ClusterResponder(state: state, configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let configuration = self.configuration
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await responder.respond(to: request) },
            configuration: .init(
                address: .hostname(configuration.host, port: requested), serverName: "cluster-simulator"),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? requested) },
            logger: logger
        )
        // In a service group, so that `stop()` shuts the server down gracefully.
        let group = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        server.withLock {
            $0.task = task
            $0.group = group
        }
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(20))
            continuation.finish()
        }
        defer { watchdog.cancel() }
        for await port in ports {
            server.withLock { $0.port = port }
            return port
        }
        task.cancel()
        throw ControlError(
            description: "cluster simulator: could not listen on \(configuration.host):\(requested)")
    }

    /// Restarts the API server as K3s does on an upgrade: every watch connection breaks,
    /// nothing listens for `downtime`, and afterwards every resource version a client has
    /// seen is `410 Gone` (objects keep their own, older versions, as they do).
    public func restart(downtime: Duration = .milliseconds(500)) async throws {
        guard let port else { throw ControlError(description: "cluster simulator: not started") }
        await state.restartStorage()
        let (task, group) = server.withLock { server -> (Task<Void, any Error>?, ServiceGroup?) in
            defer { server = (nil, nil, nil) }
            return (server.task, server.group)
        }
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
        try await Task.sleep(for: downtime)
        _ = try await listen(port: port)
    }

    /// Stops serving, ends every watch and every pod's run.
    public func stop() async {
        await state.stop()
        let (task, group) = server.withLock { server -> (Task<Void, any Error>?, ServiceGroup?) in
            defer { server = (nil, nil, nil) }
            return (server.task, server.group)
        }
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    /// The bound port, once started.
    public var port: Int? { server.withLock { $0.port } }

    /// `http://127.0.0.1:PORT`, once started.
    public var url: String? { port.map { "http://\(configuration.host):\($0)" } }

    /// A connection to this simulator for `KubernetesClient`: plain HTTP on loopback, with
    /// the configured token. (Kubeconfig files name TLS servers only; this is the one
    /// explicit way to reach the simulator from in-process code.)
    public func connection() throws -> KubernetesConnection {
        guard let url else { throw ControlError(description: "cluster simulator: not started") }
        return KubernetesConnection(
            server: url, credentials: configuration.token.map { .token($0) } ?? .none,
            origin: "cluster simulator \(url)")
    }

    // MARK: - Looking

    /// Every pod, oldest first.
    public func pods() async -> [SimulatedPod] { await state.podSnapshots() }

    /// Every Job, oldest first.
    public func jobs() async -> [SimulatedJob] { await state.jobSnapshots() }

    /// Every node, as configured and patched.
    public func nodes() async -> [SimulatedNode] { await state.nodeSnapshots() }

    /// Every request so far (the latest 100,000).
    public func requests() async -> [RecordedRequest] { await state.requests }

    /// Watches open now.
    public func openWatches() async -> Int { await state.openWatchCount }

    // MARK: - Driving pods

    /// Ends a running (or pending, bound) pod's run as `outcome`.
    public func finishPod(_ name: String, namespace: String, outcome: PodOutcome = .succeed) async throws {
        do { try await state.finish(namespace: namespace, name: name, outcome: outcome) } catch {
            throw ControlError(description: "finish \(namespace)/\(name): \(error.message)")
        }
    }

    /// Evicts a pod, as the kubelet does under node pressure.
    public func evictPod(_ name: String, namespace: String, message: String = "The node was low on resource: memory.")
        async throws
    {
        try await finishPod(name, namespace: namespace, outcome: .evict(message: message))
    }

    /// Binds a pending pod to a node, as a scheduler's binding does.
    public func bindPod(_ name: String, namespace: String, node: String) async throws {
        do { try await state.bind(namespace: namespace, name: name, node: node) } catch {
            throw ControlError(description: "bind \(namespace)/\(name): \(error.message)")
        }
    }

    /// Removes a node from the cluster; its unfinished pods fail with reason `NodeLost`.
    public func removeNode(_ name: String) async throws {
        do { try await state.removeNode(name: name) } catch {
            throw ControlError(description: "remove node \(name): \(error.message)")
        }
    }

    // MARK: - CPU load (the metrics API)

    /// Sets a pod's CPU load (cores; negative or not finite counts as 0) from now until
    /// changed. It counts while the pod runs: not before it starts, and not after it finishes
    /// or is deleted (later calls then change nothing). False when no such pod was ever seen.
    @discardableResult
    public func setCPULoad(pod: String, namespace: String, cores: Double) async -> Bool {
        await state.setPodLoad(namespace: namespace, name: pod, cores: cores, at: nil)
    }

    /// Sets a pod's CPU load from `fromMilliseconds` (unix) on, as ``setCPULoad(pod:namespace:cores:)``
    /// does from now: for a load that starts with a container or a plug's load at a known
    /// time, however late the call comes on a busy machine. A later change replaces the ones
    /// from its time on.
    @discardableResult
    public func setCPULoad(pod: String, namespace: String, cores: Double, fromMilliseconds: Int64) async -> Bool {
        await state.setPodLoad(namespace: namespace, name: pod, cores: cores, at: fromMilliseconds)
    }

    /// Sets a node's load that belongs to no pod (kubelet, runtime, OS) from now until changed
    /// (cores; negative or not finite counts as 0).
    public func setSystemLoad(node: String, cores: Double) async {
        await state.setSystemLoad(node: node, cores: cores)
    }

    /// While frozen, metrics answers keep the timestamp, window and usage of the moment of
    /// freezing, as a metrics-server whose scrapes stopped serves its last ones.
    public func freezeMetrics(_ frozen: Bool) async {
        await state.freezeMetrics(frozen, resolution: configuration.metrics?.resolutionMilliseconds ?? 15_000)
    }

    /// The CPU time a pod used over `[from, to)` (unix milliseconds), in core-seconds: the
    /// truth that metrics windows average.
    public func cpuSeconds(pod: String, namespace: String, from: Int64, to: Int64) async -> Double {
        await state.podCoreMilliseconds(namespace: namespace, name: pod, from: from, to: to) / 1000
    }

    /// The CPU time of a node over `[from, to)` (unix milliseconds), in core-seconds: its pods'
    /// and its system load.
    public func nodeCPUSeconds(node: String, from: Int64, to: Int64) async -> Double {
        await state.nodeCoreMilliseconds(node: node, from: from, to: to) / 1000
    }

    // MARK: - Faults

    /// Answers the next `count` requests matching `match` with `429 Too Many Requests`
    /// (plain text, as priority and fairness sends it) and `Retry-After: retryAfter`.
    public func throttle(next count: Int = 1, matching match: RequestMatch = .any, retryAfter: String? = "1") async {
        await state.withFaults {
            $0.scripted.append(.init(remaining: count, match: match, status: 429, retryAfter: retryAfter))
        }
    }

    /// Answers the next `count` matching requests with `status` (410 as `Gone`: a watch
    /// refused at the start; 500/503 as server errors; 200 with an empty body: a watch that
    /// ends at once, as behind a proxy that drops long requests).
    public func fail(next count: Int = 1, matching match: RequestMatch, status: Int) async {
        await state.withFaults {
            $0.scripted.append(.init(remaining: count, match: match, status: status, retryAfter: nil))
        }
    }

    /// Answers every request matching `match` with `status` (503: the API server cannot serve
    /// them for now) until `endOutage(matching:)`: a fault that lasts as long as the caller
    /// holds it, where `fail(next:)` lasts a number of requests whose timing the client sets.
    public func startOutage(matching match: RequestMatch, status: Int = 503) async {
        await state.withFaults { $0.outages.append(.init(match: match, status: status)) }
    }

    /// Ends the outages started with `match`.
    public func endOutage(matching match: RequestMatch) async {
        await state.withFaults { $0.outages.removeAll { $0.match == match } }
    }

    /// Refuses `verb` on `resource` with `403 Forbidden` until `allow` (on top of
    /// `permissions`).
    public func forbid(_ verb: String, _ resource: String) async {
        await state.withFaults { _ = $0.forbidden.insert("\(verb) \(resource)") }
    }

    /// Lifts a `forbid`.
    public func allow(_ verb: String, _ resource: String) async {
        await state.withFaults { _ = $0.forbidden.remove("\(verb) \(resource)") }
    }

    /// Breaks the connection of every open watch (no proper end of the stream).
    public func dropWatches() async { await state.dropWatches() }

    /// Every open watch stops getting events and bookmarks while its connection stays open,
    /// as when a connection is lost on the way without either end noticing.
    public func stallWatches() async { await state.stallWatches() }

    /// From now on only these bearer tokens pass (nil: any request), as when credentials
    /// rotate: a client holding an old one gets `401`.
    public func acceptTokens(_ tokens: Set<String>?) async { await state.acceptTokens(tokens) }

    /// Adds or replaces an object of another kind (a ConfigMap, a Deployment, a policy).
    public func putObject(_ object: JSONValue) async { await state.put(object) }

    /// Removes an object of another kind, by resource (`configmaps`), namespace and name.
    public func removeObject(resource: String, namespace: String?, name: String) async {
        await state.removeObject(resource: resource, namespace: namespace, name: name)
    }

    /// Adds a node (watchers see `ADDED`).
    public func addNode(_ node: SimulatedNode) async { await state.addNode(node) }

    /// Sets a node's annotations as a `PATCH` would (watchers see `MODIFIED`).
    public func annotateNode(_ name: String, _ annotations: [String: String?]) async throws {
        var change: [String: JSONValue] = [:]
        for (key, value) in annotations { change[key] = value.map { .string($0) } ?? .null }
        do {
            _ = try await state.patchNode(
                name: name, patch: .object(["metadata": .object(["annotations": .object(change)])]))
        } catch {
            throw ControlError(description: "annotate node \(name): \(error.message)")
        }
    }

    /// Ends every open watch with an `ERROR` event `410 Gone` and forgets the history, as an
    /// API server does after a restart or a compaction: resuming from any version seen so far
    /// is `410` too, and the client must list again.
    public func expireWatches() async {
        await state.expireHistory()
        await state.failWatches(
            code: 410, reason: "Expired", message: "The resourceVersion for the provided watch is too old.")
    }
}

extension ClusterFailure {
    var messageLine: String { message }
}

extension Error {
    fileprivate var message: String {
        (self as? ClusterFailure)?.message ?? "\(self)"
    }
}

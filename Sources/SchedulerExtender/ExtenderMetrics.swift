import Prometheus
import Scoring

/// The extender's Prometheus metrics. Every label combination is known in advance, so all
/// handles are made once in `init` and request handling only increments them; every label
/// list is built by `labels(_:)` so the label order never varies.
public final class ExtenderMetrics: Sendable {
    /// The registry behind `/metrics`.
    public let registry: PrometheusCollectorRegistry

    /// The scheduler endpoints counted in `energy_monitor_extender_requests_total{endpoint}`.
    public enum Endpoint: String, Sendable, CaseIterable {
        /// `POST /scheduler/prioritize`.
        case prioritize
        /// `POST /scheduler/filter`.
        case filter
    }

    /// The statuses the extender answers with: the `code` label of
    /// `energy_monitor_extender_requests_total`.
    public enum Code: Int, Sendable, CaseIterable {
        /// Scores or a filter result.
        case ok = 200
        /// A body that is not `ExtenderArgs`, or that could not be read.
        case badRequest = 400
        /// A body over the size limit.
        case contentTooLarge = 413
        /// An answer that could not be encoded.
        case internalServerError = 500
        /// Requests in flight hold every byte the extender keeps at once.
        case serviceUnavailable = 503

        /// The code of `status` as an extender handler returned it: a status outside the
        /// cases is counted as 500, the only other status a handler produces.
        public init(handlerStatus status: Int) {
            self = Code(rawValue: status) ?? .internalServerError
        }
    }

    /// What became of a change of the knowledge-base file: the `result` label of
    /// `energy_monitor_knowledge_base_reloads_total`.
    public enum ReloadResult: String, Sendable, CaseIterable {
        /// Loaded.
        case ok
        /// Rejected, the previous version kept.
        case error
    }

    private let requests: [Endpoint: [Code: Counter]]
    private let requestDuration: [Endpoint: ValueHistogram]
    private let diagnostics: [ScoringDiagnostic.Reason: Counter]
    private let reloads: [ReloadResult: Counter]
    private let generation: Gauge
    private let knowledgeBaseValid: Gauge
    private let oversized: [Endpoint: Counter]
    private let nodeViewNodes: Gauge
    private let nodeViewSynced: Gauge

    /// Creates the metrics with every series at zero.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var requests: [Endpoint: [Code: Counter]] = [:]
        var requestDuration: [Endpoint: ValueHistogram] = [:]
        for endpoint in Endpoint.allCases {
            var byCode: [Code: Counter] = [:]
            for code in Code.allCases {
                byCode[code] = registry.makeCounter(
                    descriptor: Self.descriptor(
                        "energy_monitor_extender_requests_total",
                        "Scheduler-extender requests, by endpoint and HTTP status."
                    ),
                    labels: Self.labels(("endpoint", endpoint.rawValue), ("code", String(code.rawValue)))
                )
            }
            requests[endpoint] = byCode
            requestDuration[endpoint] = registry.makeValueHistogram(
                descriptor: Self.descriptor(
                    "energy_monitor_extender_request_duration_seconds",
                    "Time to answer a scheduler-extender request, seconds."
                ),
                labels: Self.labels(("endpoint", endpoint.rawValue)),
                buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
            )
        }
        self.requests = requests
        self.requestDuration = requestDuration
        var oversized: [Endpoint: Counter] = [:]
        for endpoint in Endpoint.allCases {
            oversized[endpoint] = registry.makeCounter(
                descriptor: Self.descriptor(
                    "energy_monitor_extender_oversized_requests_total",
                    "Scheduler calls refused for a body over --max-body-bytes (413): with nodeCacheCapable: false, "
                        + "the scheduler's candidate Node objects did not fit."
                ),
                labels: Self.labels(("endpoint", endpoint.rawValue))
            )
        }
        self.oversized = oversized
        nodeViewNodes = registry.makeGauge(
            descriptor: Self.descriptor(
                "energy_monitor_extender_node_view_nodes",
                "Nodes in the extender's own node view (--watch-nodes), for NodeNames requests."
            ),
            labels: []
        )
        nodeViewSynced = registry.makeGauge(
            descriptor: Self.descriptor(
                "energy_monitor_extender_node_view_synced",
                "1 while the extender's node view follows the cluster, 0 before its first list and after a failure."
            ),
            labels: []
        )
        var diagnostics: [ScoringDiagnostic.Reason: Counter] = [:]
        for reason in ScoringDiagnostic.Reason.allCases {
            diagnostics[reason] = registry.makeCounter(
                descriptor: Self.descriptor(
                    "energy_monitor_scoring_diagnostics_total",
                    "Problems scoring had to work around (drifted node names, stale power, bad weights), by reason."
                ),
                labels: Self.labels(("reason", reason.rawValue))
            )
        }
        self.diagnostics = diagnostics
        var reloads: [ReloadResult: Counter] = [:]
        for result in ReloadResult.allCases {
            reloads[result] = registry.makeCounter(
                descriptor: Self.descriptor(
                    "energy_monitor_knowledge_base_reloads_total",
                    "Changes of the knowledge-base file: loaded (ok) or rejected, keeping the previous version (error)."
                ),
                labels: Self.labels(("result", result.rawValue))
            )
        }
        self.reloads = reloads
        generation = registry.makeGauge(
            descriptor: Self.descriptor(
                "energy_monitor_knowledge_base_generation",
                "Versions of the knowledge base loaded since start, counting the first."
            ),
            labels: []
        )
        knowledgeBaseValid = registry.makeGauge(
            descriptor: Self.descriptor(
                "energy_monitor_knowledge_base_valid",
                "1 if the knowledge-base file as it is now loads, 0 if the last change was rejected."
            ),
            labels: []
        )
    }

    /// The one place label lists are made, in the order given.
    static func labels(_ pairs: (String, String)...) -> [(String, String)] {
        pairs
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Counts one answered request and its duration.
    public func recordRequest(_ endpoint: Endpoint, code: Code, seconds: Double) {
        requests[endpoint]?[code]?.increment()
        requestDuration[endpoint]?.record(seconds)
    }

    /// Counts scoring diagnostics by reason.
    public func recordDiagnostics(_ reported: [ScoringDiagnostic]) {
        for diagnostic in reported {
            diagnostics[diagnostic.reason]?.increment()
        }
    }

    /// Records the outcome of one look at the knowledge-base file: `change` is counted
    /// (a reload as `ok`, a rejection as `error`), `generation` and `valid` describe the
    /// watcher's state after it.
    public func recordKnowledgeBase(_ change: KnowledgeBaseWatcher.Change, generation current: Int, valid: Bool) {
        switch change {
        case .unchanged:
            break
        case .reloaded:
            reloads[.ok]?.increment()
        case .rejected:
            reloads[.error]?.increment()
        }
        generation.set(Double(current))
        knowledgeBaseValid.set(to: valid ? 1.0 : 0.0)
    }

    /// Counts one call refused for its body size.
    public func recordOversized(_ endpoint: Endpoint) {
        oversized[endpoint]?.increment()
    }

    /// Records the node view's size, or (nil) that it is not current.
    public func recordNodeView(nodes: Int?) {
        nodeViewNodes.set(Double(nodes ?? 0))
        nodeViewSynced.set(to: nodes == nil ? 0.0 : 1.0)
    }

    /// Records the state of a knowledge base loaded at start (not counted as a reload).
    public func recordInitialLoad(generation current: Int) {
        generation.set(Double(current))
        knowledgeBaseValid.set(to: 1.0)
    }

    /// The exposition text (format 0.0.4).
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(registry.internalBufferCapacity())
        registry.emit(into: &buffer)
        return buffer
    }
}

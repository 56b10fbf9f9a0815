import Synchronization

/// The per-pod energy series of `/metrics` (with `kubernetes.podEnergy` on): each pod's power
/// over the latest metrics window and its attributed energy, the nodes' `system` and `idle`
/// shares, the learned static power with its quality, and the metrics API's failures.
///
/// A pod's series stay for `retentionMilliseconds` (five minutes) after its last window, so
/// that the last increase is scraped, then leave. At most `maxPods` pods have series at once
/// (20,000 by default: with four pod series each, 80,000 lines); pods beyond it are counted
/// in `energy_monitor_pod_series_dropped_total` and get no series until others leave. Rendered
/// by hand as `MonitorMetrics`' node series are, for the same reason: a label set that comes
/// and goes must not cost a copy of its whole family.
public final class PodEnergyMetrics: Sendable {
    /// A pod's identity in its labels.
    public struct PodKey: Sendable, Hashable {
        /// The namespace.
        public var namespace: String
        /// The pod's name.
        public var pod: String
        /// The node it ran on.
        public var node: String

        /// Creates a key.
        public init(namespace: String, pod: String, node: String) {
            self.namespace = namespace
            self.pod = pod
            self.node = node
        }
    }

    /// A node's learned static power, as published.
    public struct StaticFigures: Sendable, Equatable {
        /// Static power in watts (nil: none known).
        public var staticWatts: Double?
        /// Watts per core of CPU usage at low usage (nil: not fitted).
        public var wattsPerCore: Double?
        /// Windows in the fit.
        public var samples: Int
        /// Root-mean-square error of the fit, watts (nil: not fitted).
        public var rmsErrorWatts: Double?
        /// Where the static power comes from: `override`, `fitted`, `starting` or `none`.
        public var source: String

        /// Creates figures.
        public init(staticWatts: Double?, wattsPerCore: Double?, samples: Int, rmsErrorWatts: Double?, source: String) {
            self.staticWatts = staticWatts
            self.wattsPerCore = wattsPerCore
            self.samples = samples
            self.rmsErrorWatts = rmsErrorWatts
            self.source = source
        }
    }

    private struct PodSeries {
        var watts: Double
        var joules: Double
        var lastMilliseconds: Int64
    }

    private struct NodeShares {
        var measuredJoules = 0.0
        var largestResidual = 0.0
        var systemWatts = 0.0
        var idleWatts = 0.0
        var systemJoules = 0.0
        var idleJoules = 0.0
        var figures: StaticFigures?
    }

    private struct State {
        var pods: [PodKey: PodSeries] = [:]
        var nodes: [String: NodeShares] = [:]
        var droppedSeries = 0
        var metricsErrors: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let nodeOrder: [String]
    /// Most pods with series at once.
    public let maxPods: Int
    /// How long a pod's series stay after its last window.
    public let retentionMilliseconds: Int64

    /// Series for the pods on `nodes`.
    public init(nodes: [String], maxPods: Int = 20_000, retentionMilliseconds: Int64 = 300_000) {
        self.nodeOrder = nodes
        self.maxPods = maxPods
        self.retentionMilliseconds = retentionMilliseconds
        state.withLock { state in
            for node in nodes { state.nodes[node] = NodeShares() }
        }
    }

    /// Starts a pod's energy counter where the store left it (so that it continues across a
    /// restart of the service), unless it has a series already.
    public func seed(_ key: PodKey, joules: Double, atMilliseconds now: Int64) {
        guard joules.isFinite, joules >= 0 else { return }
        state.withLock { state in
            guard state.pods[key] == nil, state.pods.count < maxPods else { return }
            state.pods[key] = PodSeries(watts: 0, joules: joules, lastMilliseconds: now)
        }
    }

    /// One attributed window of a node: each pod's joules (dynamic plus static), `system` and
    /// `idle`, over `seconds` of it.
    public func record(
        node: String, seconds: Double, measuredJoules: Double, pods: [(key: PodKey, joules: Double)],
        systemJoules: Double, idleJoules: Double, atMilliseconds now: Int64
    ) {
        guard seconds > 0, seconds.isFinite else { return }
        state.withLock { state in
            // What the shares add up to against what the plug measured: zero but for rounding.
            let sum = pods.reduce(systemJoules + idleJoules) { $0 + $1.joules }
            let residual = abs(sum - measuredJoules)
            if measuredJoules.isFinite, residual.isFinite {
                state.nodes[node, default: NodeShares()].measuredJoules += measuredJoules
                state.nodes[node, default: NodeShares()].largestResidual = max(
                    state.nodes[node, default: NodeShares()].largestResidual, residual)
            }
            for (key, joules) in pods where joules.isFinite && joules >= 0 {
                if var series = state.pods[key] {
                    series.joules += joules
                    series.watts = joules / seconds
                    series.lastMilliseconds = now
                    state.pods[key] = series
                } else if state.pods.count < maxPods {
                    state.pods[key] = PodSeries(watts: joules / seconds, joules: joules, lastMilliseconds: now)
                } else {
                    state.droppedSeries += 1
                }
            }
            var shares = state.nodes[node] ?? NodeShares()
            if systemJoules.isFinite, systemJoules >= 0 {
                shares.systemJoules += systemJoules
                shares.systemWatts = systemJoules / seconds
            }
            if idleJoules.isFinite, idleJoules >= 0 {
                shares.idleJoules += idleJoules
                shares.idleWatts = idleJoules / seconds
            }
            state.nodes[node] = shares
        }
    }

    /// The node's static power as now known.
    public func recordStatic(node: String, _ figures: StaticFigures) {
        state.withLock { $0.nodes[node, default: NodeShares()].figures = figures }
    }

    /// A failed read of the metrics API, by reason (`unavailable`, `missing`, `forbidden`,
    /// `stale`, `other`).
    public func recordMetricsError(_ reason: String) {
        state.withLock { $0.metricsErrors[reason, default: 0] += 1 }
    }

    /// Removes the series of pods without a window for `retentionMilliseconds`.
    public func expire(nowMilliseconds now: Int64) {
        state.withLock { state in
            state.pods = state.pods.filter { now - $0.value.lastMilliseconds <= retentionMilliseconds }
        }
    }

    /// Pods with series now.
    public var podCount: Int { state.withLock { $0.pods.count } }

    /// The exposition text of these series.
    public func render() -> String {
        state.withLock { state in
            var text = ""
            let pods = state.pods.sorted {
                ($0.key.node, $0.key.namespace, $0.key.pod) < ($1.key.node, $1.key.namespace, $1.key.pod)
            }
            if !pods.isEmpty {
                text += header(
                    "energy_monitor_pod_power_watts", "gauge",
                    "A pod's share of its node's measured power over the latest metrics window, watts.")
                for (key, series) in pods { text += line("energy_monitor_pod_power_watts", labels(key), series.watts) }
                text += header(
                    "energy_monitor_pod_energy_joules_total", "counter",
                    "A pod's share of its node's measured energy, joules (dynamic by CPU share, static by policy).")
                for (key, series) in pods {
                    text += line("energy_monitor_pod_energy_joules_total", labels(key), series.joules)
                }
            }
            text += header(
                "energy_monitor_node_unattributed_power_watts", "gauge",
                "The part of a node's measured power no pod is charged: system (CPU use outside pods) or idle (static power no pod was given), watts."
            )
            for node in nodeOrder {
                let shares = state.nodes[node] ?? NodeShares()
                text += line(
                    "energy_monitor_node_unattributed_power_watts", nodeLabels(node, ("part", "system")),
                    shares.systemWatts)
                text += line(
                    "energy_monitor_node_unattributed_power_watts", nodeLabels(node, ("part", "idle")), shares.idleWatts
                )
            }
            text += header(
                "energy_monitor_node_unattributed_energy_joules_total", "counter",
                "The part of a node's measured energy no pod is charged, joules, by part (system, idle).")
            for node in nodeOrder {
                let shares = state.nodes[node] ?? NodeShares()
                text += line(
                    "energy_monitor_node_unattributed_energy_joules_total", nodeLabels(node, ("part", "system")),
                    shares.systemJoules)
                text += line(
                    "energy_monitor_node_unattributed_energy_joules_total", nodeLabels(node, ("part", "idle")),
                    shares.idleJoules)
            }
            text += header(
                "energy_monitor_node_attributed_energy_joules_total", "counter",
                "The measured energy of a node that was split among its pods, system and idle, joules.")
            for node in nodeOrder {
                text += line(
                    "energy_monitor_node_attributed_energy_joules_total", nodeLabels(node),
                    state.nodes[node]?.measuredJoules ?? 0)
            }
            text += header(
                "energy_monitor_node_attribution_residual_joules", "gauge",
                "The largest difference, in one window, between a node's measured energy and the sum of its shares (pods, system, idle), joules: rounding only."
            )
            for node in nodeOrder {
                text += line(
                    "energy_monitor_node_attribution_residual_joules", nodeLabels(node),
                    state.nodes[node]?.largestResidual ?? 0)
            }
            let figures = nodeOrder.compactMap { node in state.nodes[node]?.figures.map { (node, $0) } }
            let known = figures.filter { $0.1.staticWatts != nil }
            if !known.isEmpty {
                text += header(
                    "energy_monitor_node_static_watts", "gauge",
                    "A node's static power (at zero CPU usage), watts: learned from its plug, or set.")
                for (node, figure) in known {
                    text += line(
                        "energy_monitor_node_static_watts", nodeLabels(node, ("source", figure.source)),
                        figure.staticWatts ?? 0)
                }
            }
            let fitted = figures.filter { $0.1.wattsPerCore != nil }
            if !fitted.isEmpty {
                text += header(
                    "energy_monitor_node_watts_per_core", "gauge",
                    "A node's power per core of CPU usage at low usage, watts, from the fit.")
                for (node, figure) in fitted {
                    text += line("energy_monitor_node_watts_per_core", nodeLabels(node), figure.wattsPerCore ?? 0)
                }
            }
            if !figures.isEmpty {
                text += header(
                    "energy_monitor_node_static_fit_samples", "gauge",
                    "Metrics windows in the fit of a node's static power.")
                for (node, figure) in figures {
                    text += line("energy_monitor_node_static_fit_samples", nodeLabels(node), Double(figure.samples))
                }
            }
            let errors = figures.filter { $0.1.rmsErrorWatts != nil }
            if !errors.isEmpty {
                text += header(
                    "energy_monitor_node_static_fit_error_watts", "gauge",
                    "Root-mean-square error of the fit of a node's power against its CPU usage, watts.")
                for (node, figure) in errors {
                    text += line(
                        "energy_monitor_node_static_fit_error_watts", nodeLabels(node), figure.rmsErrorWatts ?? 0)
                }
            }
            text += header(
                "energy_monitor_pod_metrics_errors_total", "counter",
                "Failed or stale reads of metrics.k8s.io, by reason.")
            for reason in ["missing", "unavailable", "forbidden", "stale", "other"] {
                text +=
                    "energy_monitor_pod_metrics_errors_total{reason=\"\(reason)\"} \(state.metricsErrors[reason, default: 0])\n"
            }
            text += header(
                "energy_monitor_pod_series_dropped_total", "counter",
                "Pod windows not exported because \(maxPods) pods already had series.")
            text += "energy_monitor_pod_series_dropped_total \(state.droppedSeries)\n"
            return text
        }
    }

    private func header(_ name: String, _ type: String, _ help: String) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private func line(_ name: String, _ labels: String, _ value: Double) -> String {
        "\(name){\(labels)} \(value == 0 ? "0" : value.description)\n"
    }

    private func labels(_ key: PodKey) -> String {
        String(
            decoding: NodeSeries.labelBytes([("namespace", key.namespace), ("pod", key.pod), ("node", key.node)]),
            as: UTF8.self)
    }

    private func nodeLabels(_ node: String, _ more: (String, String)...) -> String {
        String(decoding: NodeSeries.labelBytes([("node", node)] + more), as: UTF8.self)
    }
}

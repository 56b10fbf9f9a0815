import EnergyModel
import Store

/// The attributed energy of pods over a window (`GET /api/v1/pods`, `energy-monitor pods`):
/// each pod's share of its node's measured energy beside the node's whole energy over the
/// same span, and each node's `system` and `idle` shares. Figures exist only where the
/// per-pod energy service (`kubernetes.podEnergy`) attributed them.
public struct PodEnergyReport: Codable, Sendable, Equatable {
    /// One pod on one node.
    public struct Pod: Codable, Sendable, Equatable {
        /// The namespace.
        public var namespace: String
        /// The pod's name.
        public var pod: String
        /// The pod's uid.
        public var uid: String
        /// The node.
        public var node: String
        /// First and last attributed instant in the window, unix milliseconds.
        public var from: Int64
        /// End of the last attributed part.
        public var to: Int64
        /// CPU seconds the pod used.
        public var cpuSeconds: Double
        /// Its share of the node's dynamic energy, joules.
        public var dynamicJoules: Double
        /// Its share of the node's static energy, joules.
        public var staticJoules: Double
        /// Dynamic plus static: the pod's attributed joules.
        public var attributedJoules: Double
        /// The node's whole energy over `[from, to)`: what the pod would be charged alone.
        public var nodeJoules: Double
        /// Share of `[from, to)` attributed with the plug's samples behind it, percent.
        public var coverage: Double
        /// The attributed joules in kilowatt-hours (only with `carbon:` or `price:` configured).
        public var kwh: Double?
        /// Their emissions, grams of CO2-equivalent, minute by minute at the intensity in
        /// force (absent without `carbon:` or where it is not known).
        public var gramsCO2e: Double?
        /// Their cost at the price in force (absent without `price:`).
        public var cost: Double?
        /// The currency of `cost`.
        public var currency: String?
    }

    /// A node's shares no pod is charged.
    public struct Node: Codable, Sendable, Equatable {
        /// The node.
        public var node: String
        /// Dynamic energy of CPU use no pod accounts for, joules.
        public var systemJoules: Double
        /// Static energy no pod was given, joules.
        public var idleJoules: Double
        /// The end of the node's last attributed part in the window (unix milliseconds).
        public var attributedUntil: Int64
    }

    /// Window start, unix milliseconds.
    public var from: Int64
    /// Window end (exclusive).
    public var to: Int64
    /// The pods, by node, namespace and name.
    public var pods: [Pod]
    /// The nodes with attributed energy in the window.
    public var nodes: [Node]

    /// The report over `[from, to)` of pods in `namespace` (every namespace when nil), on
    /// `node` when given; with `rates`, each pod's attributed joules carry their footprint.
    public static func compute(
        store: EnergyStore, namespace: String?, node: String?, fromMilliseconds from: Int64,
        toMilliseconds to: Int64, intervalMilliseconds: Int64, rates: FootprintRates = FootprintRates()
    ) async throws(StoreError) -> PodEnergyReport {
        let totals = try await store.podEnergy(node: node, fromMilliseconds: from, toMilliseconds: to, rates: rates)
        var pods: [Pod] = []
        var nodes: [String: Node] = [:]
        for total in totals {
            switch total.kind {
            case .pod:
                if let namespace, total.namespace != namespace { continue }
                let whole = try await store.energy(
                    node: total.node, fromMilliseconds: total.firstMilliseconds,
                    toMilliseconds: total.lastMilliseconds, maxGapMilliseconds: 3 * intervalMilliseconds)
                let span = total.lastMilliseconds - total.firstMilliseconds
                pods.append(
                    Pod(
                        namespace: total.namespace, pod: total.pod, uid: total.uid, node: total.node,
                        from: total.firstMilliseconds, to: total.lastMilliseconds, cpuSeconds: total.cpuSeconds,
                        dynamicJoules: total.dynamicJoules, staticJoules: total.staticJoules,
                        attributedJoules: total.joules, nodeJoules: whole.joules,
                        coverage: span > 0 ? min(100, 100 * Double(total.coveredMilliseconds) / Double(span)) : 0,
                        kwh: total.footprint?.kwh, gramsCO2e: total.footprint?.gramsCO2e, cost: total.footprint?.cost,
                        currency: total.footprint?.cost == nil ? nil : total.footprint?.currency))
            case .system:
                var entry =
                    nodes[total.node] ?? Node(node: total.node, systemJoules: 0, idleJoules: 0, attributedUntil: 0)
                entry.systemJoules += total.joules
                entry.attributedUntil = max(entry.attributedUntil, total.lastMilliseconds)
                nodes[total.node] = entry
            case .idle:
                var entry =
                    nodes[total.node] ?? Node(node: total.node, systemJoules: 0, idleJoules: 0, attributedUntil: 0)
                entry.idleJoules += total.joules
                entry.attributedUntil = max(entry.attributedUntil, total.lastMilliseconds)
                nodes[total.node] = entry
            }
        }
        pods.sort { ($0.node, $0.namespace, $0.pod, $0.from) < ($1.node, $1.namespace, $1.pod, $1.from) }
        return PodEnergyReport(
            from: from, to: to, pods: pods, nodes: nodes.values.sorted { $0.node < $1.node })
    }
}

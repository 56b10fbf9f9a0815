import EnergyModel
import Store

/// The power of each node by pod over a window (`GET /api/v1/pods/power`), step by step, as
/// the dashboard stacks it: the average watts of each share over the step's attributed
/// seconds, so that a step's shares add up to the node's measured power while it was
/// attributed. The node's biggest pods of the window are shares of their own, the others one
/// share "other pods"; `system` and `idle` follow. Figures exist only where the per-pod energy
/// service (`kubernetes.podEnergy`) attributed them: without it every node has no shares.
public struct PodPowerReport: Codable, Sendable, Equatable {
    /// One column of a node's chart.
    public struct Share: Codable, Sendable, Equatable {
        /// `pod`, `other` (the pods beyond the biggest, summed), `system` or `idle`.
        public var kind: String
        /// The label: `namespace/pod`, `other pods`, `system` or `idle`.
        public var name: String
        /// The pod's namespace (pods only).
        public var namespace: String?
        /// The pod's name (pods only).
        public var pod: String?
        /// How many pods `other` sums (`other` only).
        public var pods: Int?
        /// The share's joules over the window.
        public var joules: Double
        /// The share's average power over the node's attributed time in the window, watts.
        public var averageWatts: Double
    }

    /// One step of a node's chart.
    public struct Point: Codable, Sendable, Equatable {
        /// Start of the step, unix milliseconds.
        public var t: Int64
        /// Seconds of the step attributed with the plug's samples behind them.
        public var seconds: Double
        /// Average watts of each share over those seconds, in the order of `shares`.
        public var watts: [Double]
    }

    /// One node's chart.
    public struct Node: Codable, Sendable, Equatable {
        /// The node.
        public var node: String
        /// Its shares: pods by namespace and name, then `other`, `system`, `idle` (each only
        /// when it has energy in the window).
        public var shares: [Share]
        /// Steps with attributed energy, oldest first; steps without are left out.
        public var points: [Point]
    }

    /// Window start, unix milliseconds.
    public var from: Int64
    /// Window end (exclusive).
    public var to: Int64
    /// Width of a step, milliseconds: a minute, or whole minutes so that a window has at most
    /// `maxPoints + 1` steps per node.
    public var step: Int64
    /// The nodes asked for, in the order asked.
    public var nodes: [Node]

    /// Most pods of a node shown one by one; the rest are summed as "other pods".
    public static let maxPods = 10
    /// Most minutes per node answered one by one (a day and then some); a longer window gets
    /// wider steps.
    public static let maxPoints: Int64 = 1500

    /// The step, whole minutes, for a window of `milliseconds`: one minute up to a day,
    /// wider beyond so that the answer stays within `maxPoints + 1` steps per node (the window's
    /// minutes, plus the ones its edges cut, in steps aligned to multiples of their width).
    public static func stepMinutes(forWindowMilliseconds milliseconds: Int64) -> Int64 {
        let minutes = milliseconds / 60_000 + 2
        return max(1, (minutes + maxPoints - 1) / maxPoints)
    }

    /// The report over `[from, to)` for `nodes`.
    public static func compute(
        store: EnergyStore, nodes: [String], fromMilliseconds from: Int64, toMilliseconds to: Int64
    ) async throws(StoreError) -> PodPowerReport {
        let length = to.subtractingReportingOverflow(from)
        let stepMinutes = stepMinutes(forWindowMilliseconds: length.overflow ? .max : length.partialValue)
        var answer: [Node] = []
        var width = stepMinutes * 60_000
        for node in nodes {
            let series = try await store.podMinutes(
                node: node, fromMilliseconds: from, toMilliseconds: to, maxPods: maxPods, stepMinutes: stepMinutes)
            width = series.stepMilliseconds
            let covered = series.steps.reduce(0.0) { $0 + Double($1.coveredMilliseconds) } / 1000
            let shares = series.shares.map { share in
                Share(
                    kind: share.kind.rawValue, name: name(share), namespace: share.kind == .pod ? share.namespace : nil,
                    pod: share.kind == .pod ? share.pod : nil, pods: share.kind == .otherPods ? share.pods : nil,
                    joules: rounded(share.joules), averageWatts: covered > 0 ? rounded(share.joules / covered) : 0)
            }
            let points = series.steps.compactMap { step -> Point? in
                guard step.coveredMilliseconds > 0 else { return nil }
                let seconds = Double(step.coveredMilliseconds) / 1000
                return Point(
                    t: step.startMilliseconds, seconds: seconds, watts: step.joules.map { rounded($0 / seconds) })
            }
            answer.append(Node(node: node, shares: shares, points: points))
        }
        return PodPowerReport(from: from, to: to, step: width, nodes: answer)
    }

    /// A share's label.
    static func name(_ share: PodMinuteSeries.Share) -> String {
        switch share.kind {
        case .pod: share.namespace.isEmpty ? share.pod : share.namespace + "/" + share.pod
        case .otherPods: "other pods"
        case .system: "system"
        case .idle: "idle"
        }
    }

    /// Two decimals are all a plug resolves.
    static func rounded(_ value: Double) -> Double {
        (value * 100).rounded() / 100
    }
}

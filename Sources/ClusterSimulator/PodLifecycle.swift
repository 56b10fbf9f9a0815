import EnergyModel
import JSON

/// What the simulated cluster knows of a pod when it asks its lifecycle what happens next.
public struct PodInfo: Sendable, Equatable {
    /// The pod's name.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// The Job that owns it, if any.
    public var jobName: String?
    /// Which pod of its Job this is: 0 for the first, 1 for the first replacement, ...
    public var attempt: Int
    /// `spec.schedulerName` (`default-scheduler` when the template names none).
    public var schedulerName: String
    /// Its labels.
    public var labels: [String: String]
    /// Its annotations.
    public var annotations: [String: String]
    /// The images of its containers, in order.
    public var images: [String]
    /// The nodes a required node affinity on `metadata.name` allows (nil: any node).
    public var requiredNodeNames: [String]?
    /// The whole `spec` as created (containers, resources, affinity, ...).
    public var spec: JSONValue
}

/// Where a new pod goes.
public enum PodPlacement: Sendable, Equatable {
    /// Bound to this node after `delay` (the scheduler's work).
    case node(String, after: Duration = .milliseconds(50))
    /// Stays pending with condition `PodScheduled=False`, reason `Unschedulable`.
    case unschedulable(message: String)
    /// Left for a scheduler to bind through `POST .../pods/NAME/binding` (or `bindPod`).
    case awaitBinding
}

/// How a pod ends.
public enum PodOutcome: Sendable, Equatable {
    /// Its containers exit 0: the pod succeeds.
    case succeed
    /// A container exits with this code: the pod fails.
    case fail(exitCode: Int32)
    /// The kubelet evicts it (node pressure): phase `Failed`, reason `Evicted`, condition
    /// `DisruptionTarget`. A Job whose `podFailurePolicy` ignores disruptions replaces it
    /// without counting a failure.
    case evict(message: String = "The node was low on resource: memory.")
    /// Its node is gone (deleted, or lost for good): phase `Failed`, reason `NodeLost`; it
    /// counts as a failure.
    case nodeLost(message: String)
}

/// What a bound pod does.
public struct PodRun: Sendable, Equatable {
    /// From binding to the containers running (image pull, container start).
    public var startDelay: Duration
    /// How long the containers run; nil: until `ClusterSimulator.finishPod` says how it ends.
    public var duration: Duration?
    /// How it ends after `duration`.
    public var outcome: PodOutcome
    /// The container's start and finish as the kubelet reports them (unix milliseconds), when
    /// the lifecycle knows them: the pod runs from the one to the other by the wall clock, and
    /// its container times are exactly these however late the simulator gets to them on a
    /// busy machine. Without them the times are when the simulator got there.
    public var containerTimes: (startMilliseconds: Int64, finishMilliseconds: Int64)?

    /// Creates a run.
    public init(startDelay: Duration = .milliseconds(100), duration: Duration?, outcome: PodOutcome = .succeed) {
        self.startDelay = startDelay
        self.duration = duration
        self.outcome = outcome
        self.containerTimes = nil
    }

    /// A run from `startMilliseconds` to `finishMilliseconds` (unix), ending as `outcome`.
    public init(startMilliseconds: Int64, finishMilliseconds: Int64, outcome: PodOutcome = .succeed) {
        let now = WallClock.nowMilliseconds()
        self.startDelay = .milliseconds(max(0, startMilliseconds - now))
        self.duration = .milliseconds(max(0, finishMilliseconds - startMilliseconds))
        self.outcome = outcome
        self.containerTimes = (startMilliseconds, max(startMilliseconds, finishMilliseconds))
    }

    public static func == (lhs: PodRun, rhs: PodRun) -> Bool {
        lhs.startDelay == rhs.startDelay && lhs.duration == rhs.duration && lhs.outcome == rhs.outcome
            && lhs.containerTimes?.startMilliseconds == rhs.containerTimes?.startMilliseconds
            && lhs.containerTimes?.finishMilliseconds == rhs.containerTimes?.finishMilliseconds
    }
}

/// Decides the life of every pod the simulated cluster creates: where it goes (the
/// scheduler's part) and how it runs (the kubelet's and the workload's part). Tests script it
/// with closures (`ScriptedLifecycle`); an offline cluster can place pods with the real
/// extender and take run times from a knowledge base.
public protocol PodLifecycle: Sendable {
    /// Where the new pod `pod` goes.
    func placement(of pod: PodInfo) async -> PodPlacement
    /// What `pod` does once bound to `node`.
    func run(of pod: PodInfo, on node: String) async -> PodRun
}

/// A lifecycle from two closures.
public struct ScriptedLifecycle: PodLifecycle {
    private let place: @Sendable (PodInfo) async -> PodPlacement
    private let runs: @Sendable (PodInfo, String) async -> PodRun

    /// Creates a lifecycle: `placement` picks the node, `run` the run.
    public init(
        placement: @escaping @Sendable (PodInfo) async -> PodPlacement,
        run: @escaping @Sendable (PodInfo, String) async -> PodRun
    ) {
        self.place = placement
        self.runs = run
    }

    /// Every pod on `node` (or the node its affinity requires), running `duration` and
    /// ending with `outcome`.
    public static func fixed(node: String, duration: Duration?, outcome: PodOutcome = .succeed) -> ScriptedLifecycle {
        ScriptedLifecycle(
            placement: { pod in .node(pod.requiredNodeNames?.first ?? node) },
            run: { _, _ in PodRun(duration: duration, outcome: outcome) }
        )
    }

    /// Asks the `placement` closure.
    public func placement(of pod: PodInfo) async -> PodPlacement { await place(pod) }

    /// Asks the `run` closure.
    public func run(of pod: PodInfo, on node: String) async -> PodRun { await runs(pod, node) }
}

import Exporter
import Foundation
import Synchronization

/// One finished workflow phase as the dashboard shows it (`GET /api/v1/workflow`): where it
/// ran, at which weight, for how long and how many joules.
public struct PhaseRecord: Codable, Sendable, Equatable {
    /// When its run started, as in the results file.
    public var timestamp: String
    /// Which run of the feed it belongs to (1, 2, ...).
    public var run: Int
    /// The phase.
    public var phase: String
    /// The scheduler (`energy`, `standard`).
    public var scheduler: String
    /// The weight the pods asked for.
    public var weight: Double?
    /// The node it ran on.
    public var node: String
    /// Seconds (simulated seconds for simulated runs).
    public var durationSeconds: Double
    /// Joules.
    public var joules: Double
    /// Mean watts.
    public var averageWatts: Double?
    /// Whether it ran on the offline cluster.
    public var simulated: Bool

    /// Creates a record.
    public init(
        timestamp: String, run: Int, phase: String, scheduler: String, weight: Double?, node: String,
        durationSeconds: Double, joules: Double, averageWatts: Double?, simulated: Bool
    ) {
        self.timestamp = timestamp
        self.run = run
        self.phase = phase
        self.scheduler = scheduler
        self.weight = weight
        self.node = node
        self.durationSeconds = durationSeconds
        self.joules = joules
        self.averageWatts = averageWatts
        self.simulated = simulated
    }
}

/// The workflow phases a process runs next to the monitor (`demo --cluster`), for the
/// dashboard: the newest `capacity` finished ones and what runs now.
public final class PhaseFeed: Sendable {
    /// The body of `GET /api/v1/workflow`.
    public struct Snapshot: Codable, Sendable, Equatable {
        /// What runs now, in words (`run 3: energy, weight 0.5: train on tvpc`), if anything.
        public var current: String?
        /// Finished phases, oldest first.
        public var phases: [PhaseRecord]
    }

    private let state = Mutex(Snapshot(current: nil, phases: []))
    /// How many finished phases are kept.
    public let capacity: Int

    /// An empty feed keeping the newest `capacity` phases.
    public init(capacity: Int = 120) {
        self.capacity = max(1, capacity)
    }

    /// Adds a finished phase.
    public func add(_ record: PhaseRecord) {
        state.withLock { snapshot in
            snapshot.phases.append(record)
            if snapshot.phases.count > capacity { snapshot.phases.removeFirst(snapshot.phases.count - capacity) }
        }
    }

    /// Says what runs now (nil: nothing).
    public func setCurrent(_ text: String?) {
        state.withLock { $0.current = text }
    }

    /// What the dashboard reads.
    public var snapshot: Snapshot { state.withLock { $0 } }

    /// `GET /api/v1/workflow` of the monitor's HTTP server: the snapshot as JSON, which the
    /// dashboard shows as its workflow panel.
    public var route: ExtraRoute {
        ExtraRoute(path: "/api/v1/workflow") { [self] in .json(snapshot) }
    }
}

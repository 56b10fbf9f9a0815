/// The CPU load of every pod and node over time, as step functions of the wall clock in unix
/// milliseconds: what the simulated metrics-server averages over its windows and what tests
/// compare against. A pod's load counts only while it runs (from its start to its end or
/// deletion); its steps stay after it has gone, so that past windows read the same later.
struct CPULoadTimeline: Sendable {
    /// A load from `fromMilliseconds` on.
    struct Step: Sendable {
        var fromMilliseconds: Int64
        var cores: Double
    }

    /// One pod's load and when it ran.
    struct PodRecord: Sendable {
        var namespace: String
        var name: String
        var uid: String
        var labels: [String: String] = [:]
        /// Its containers' names, in the spec's order.
        var containers: [String] = []
        var node: String?
        var startedMilliseconds: Int64?
        /// When it finished or was deleted.
        var endedMilliseconds: Int64?
        var steps: [Step] = []

        /// Whether it runs at `time`.
        func isRunning(at time: Int64) -> Bool {
            guard let started = startedMilliseconds else { return false }
            return started <= time && endedMilliseconds.map { time < $0 } ?? true
        }
    }

    private(set) var pods: [String: PodRecord] = [:]
    private var system: [String: [Step]] = [:]

    init(systemCores: [String: Double]) {
        for (node, cores) in systemCores { system[node] = [Step(fromMilliseconds: .min, cores: max(0, cores))] }
    }

    /// A pod's load from `time` on; ignored once the pod has ended (its load is zero from then).
    mutating func setPodLoad(key: String, cores: Double, at time: Int64) {
        guard var record = pods[key], record.endedMilliseconds == nil else { return }
        Self.append(&record.steps, Step(fromMilliseconds: time, cores: Self.sane(cores)))
        pods[key] = record
    }

    /// A node's system load from `time` on.
    mutating func setSystemLoad(node: String, cores: Double, at time: Int64) {
        Self.append(&system[node, default: []], Step(fromMilliseconds: time, cores: Self.sane(cores)))
    }

    /// Follows a pod's object: its node, start and end. A new pod under the name of one that
    /// has gone starts a record of its own.
    mutating func podChanged(
        key: String, namespace: String, name: String, uid: String, labels: [String: String], containers: [String],
        node: String?, started: Int64?, finished: Int64?
    ) {
        var record =
            pods[key].flatMap { $0.uid == uid ? $0 : nil }
            ?? PodRecord(namespace: namespace, name: name, uid: uid)
        record.labels = labels
        record.containers = containers
        record.node = node
        record.startedMilliseconds = started
        if record.endedMilliseconds == nil { record.endedMilliseconds = finished }
        pods[key] = record
    }

    /// A pod was deleted at `time`: its load ends there if it had not already.
    mutating func podRemoved(key: String, at time: Int64) {
        guard var record = pods[key], record.endedMilliseconds == nil else { return }
        record.endedMilliseconds = time
        pods[key] = record
    }

    /// A pod's CPU time over `[from, to)` in core-milliseconds.
    func podCoreMilliseconds(key: String, from: Int64, to: Int64) -> Double {
        guard let record = pods[key], let started = record.startedMilliseconds else { return 0 }
        let start = max(from, started)
        let end = min(to, record.endedMilliseconds ?? .max)
        return Self.integral(record.steps, from: start, to: end)
    }

    /// A node's CPU time over `[from, to)` in core-milliseconds: its pods' and its system load.
    func nodeCoreMilliseconds(node: String, from: Int64, to: Int64) -> Double {
        var total = Self.integral(system[node] ?? [], from: from, to: to)
        for (key, record) in pods.sorted(by: { $0.key < $1.key }) where record.node == node {
            total += podCoreMilliseconds(key: key, from: from, to: to)
        }
        return total
    }

    /// The pods running at `time`, by key.
    func pods(runningAt time: Int64) -> [(key: String, record: PodRecord)] {
        pods.filter { $0.value.isRunning(at: time) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// ∫ of a step function over `[from, to)`; each step lasts until the next one.
    static func integral(_ steps: [Step], from: Int64, to: Int64) -> Double {
        // Within 1970 to year 9999, so that no difference below overflows.
        let from = max(from, 0)
        let to = min(to, 253_402_300_799_999)
        guard from < to else { return 0 }
        var total = 0.0
        for (index, step) in steps.enumerated() {
            let stepEnd = index + 1 < steps.count ? steps[index + 1].fromMilliseconds : Int64.max
            let start = max(from, step.fromMilliseconds)
            let end = min(to, stepEnd)
            // Each part is at most a few hours of milliseconds: exact in a Double.
            if start < end { total += step.cores * Double(end - start) }
        }
        return total
    }

    /// A later step replaces one set at the same time.
    private static func append(_ steps: inout [Step], _ step: Step) {
        while let last = steps.last, last.fromMilliseconds >= step.fromMilliseconds { steps.removeLast() }
        steps.append(step)
    }

    /// Loads are finite and not negative.
    private static func sane(_ cores: Double) -> Double {
        cores.isFinite ? max(0, cores) : 0
    }
}

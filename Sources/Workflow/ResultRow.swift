/// One row of a results file: one phase of one workflow run. The runner writes
/// `Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Scheduler,Coverage,IdleJoules,Simulated,BackfilledJoules,AttributedJoules,Kwh,GramsCO2e,Cost,Currency`
/// (the thesis's columns plus ten; files written before `Simulated`, `BackfilledJoules`,
/// `AttributedJoules` or `Kwh` existed still read and take more rows, without those columns); the report also reads the
/// thesis's own files, which lack some columns (`results_baseline.csv` has `Scheduler` but no
/// `Weight` or `Profile`).
public struct ResultRow: Sendable, Equatable {
    /// When the run started (every phase of a run shares it), as written in the file.
    public var timestamp: String
    /// The phase as written (`train`, or the thesis's `train-job`).
    public var phase: String
    /// The weight the pods asked for; nil where the file has none.
    public var weight: Double?
    /// The node the phase ran on.
    public var node: String
    /// The `workload-profile` (the thesis wrote its knowledge-base variant, `tvpc-gpu`).
    public var profile: String?
    /// Seconds from container start to finish.
    public var durationSeconds: Double
    /// Average watts over the covered time.
    public var averageWatts: Double?
    /// Joules of the node in the phase's window: measured, plus what the plug's own figures
    /// recorded for gaps in the samples (`backfilledJoules`).
    public var joules: Double
    /// Which scheduler placed it; nil where the file does not say.
    public var scheduler: SchedulerChoice?
    /// Covered share of the window, percent.
    public var coveragePercent: Double?
    /// Joules above the node's idle baseline.
    public var idleJoules: Double?
    /// Whether the row comes from the offline cluster of `workflow --simulate` (column
    /// `Simulated`: `yes`, or empty for a real cluster): durations in simulated seconds,
    /// joules of the simulated plugs.
    public var simulated: Bool
    /// Of `joules`, those recorded for gaps in the samples from the plug's own figures (a
    /// monitor restart during the phase); nil where the file has no such column.
    public var backfilledJoules: Double?
    /// `Joules` minus the energy the monitor attributed to other pods on the node in the
    /// phase's window (per-pod energy, `kubernetes.podEnergy`): the phase's own share of a
    /// node it shared, its node's whole energy when it ran alone; nil without per-pod figures.
    public var attributedJoules: Double?
    /// `Joules` in kilowatt-hours.
    public var kwh: Double?
    /// Emissions of the phase's energy, grams of CO2-equivalent, integrated minute by minute
    /// with the carbon intensity in force (`carbon:`); nil without one.
    public var gramsCO2e: Double?
    /// Cost of the phase's energy, integrated minute by minute with the price in force
    /// (`price:`); nil without one.
    public var cost: Double?
    /// The currency of `cost`.
    public var currency: String?

    /// Creates a row.
    public init(
        timestamp: String, phase: String, weight: Double?, node: String, profile: String?, durationSeconds: Double,
        averageWatts: Double?, joules: Double, scheduler: SchedulerChoice?, coveragePercent: Double?,
        idleJoules: Double?, simulated: Bool = false, backfilledJoules: Double? = nil, attributedJoules: Double? = nil
    ) {
        self.attributedJoules = attributedJoules
        self.timestamp = timestamp
        self.phase = phase
        self.weight = weight
        self.node = node
        self.profile = profile
        self.durationSeconds = durationSeconds
        self.averageWatts = averageWatts
        self.joules = joules
        self.scheduler = scheduler
        self.coveragePercent = coveragePercent
        self.idleJoules = idleJoules
        self.simulated = simulated
        self.backfilledJoules = backfilledJoules
    }

    /// The phase without the thesis's `-job` suffix, so that `train-job` and `train` compare.
    public var phaseName: String {
        let lower = phase.lowercased()
        return lower.hasSuffix("-job") ? String(lower.dropLast(4)) : lower
    }

    /// The runner's columns.
    public static let header = headerWithoutFootprint + ["Kwh", "GramsCO2e", "Cost", "Currency"]

    /// The runner's columns before `Kwh`, `GramsCO2e`, `Cost` and `Currency` existed; files
    /// with them still take rows (without those).
    public static let headerWithoutFootprint = headerWithoutAttributed + ["AttributedJoules"]

    /// The runner's columns before `AttributedJoules` existed; files with them still take rows
    /// (without the attributed part).
    public static let headerWithoutAttributed = headerWithoutBackfilled + ["BackfilledJoules"]

    /// The runner's columns before `BackfilledJoules` existed; files with them still take rows
    /// (without the backfilled part, which `Joules` includes).
    public static let headerWithoutBackfilled = headerWithoutSimulated + ["Simulated"]

    /// The runner's columns before `Simulated` existed; files with them still take rows of a
    /// real cluster.
    public static let headerWithoutSimulated = [
        "Timestamp", "Phase", "Weight", "Node", "Profile", "Duration", "AvgWatts", "Joules", "Scheduler", "Coverage",
        "IdleJoules",
    ]

    /// The row in the runner's columns: integer seconds and two decimals, as the thesis wrote.
    public var fields: [String] {
        [
            timestamp, phase, weight.map(WorkflowRun.weightText) ?? "", node, profile ?? "",
            String(Int64(clampingRounding: durationSeconds)), averageWatts.map { Self.decimal($0, 2) } ?? "",
            Self.decimal(joules, 2), scheduler?.rawValue ?? "", coveragePercent.map { Self.decimal($0, 1) } ?? "",
            idleJoules.map { Self.decimal($0, 2) } ?? "", simulated ? "yes" : "",
            backfilledJoules.map { Self.decimal($0, 2) } ?? "", attributedJoules.map { Self.decimal($0, 2) } ?? "",
            // As fine as `Joules`' two decimals: a phase of seconds on a small node is a few hundred joules.
            kwh.map { Self.decimal($0, 9) } ?? "", gramsCO2e.map { Self.decimal($0, 6) } ?? "",
            cost.map { Self.decimal($0, 8) } ?? "", cost == nil ? "" : currency ?? "",
        ]
    }

    static func decimal(_ value: Double, _ digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : ""
    }
}

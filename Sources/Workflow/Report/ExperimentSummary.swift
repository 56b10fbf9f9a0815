import Foundation

/// The figures of an experiment, from the runs of one or more results files: per scheduler
/// and weight, each phase's and the whole workflow's duration and joules (mean and spread
/// over the repetitions), where the phases ran, and energy saved and time lost against the
/// default scheduler.
///
/// The default scheduler ignores the weight, so its runs at every weight (and the thesis's
/// baseline, which has none) form one baseline. Runs missing a phase (an interrupted run, an
/// attempt that failed at once) are left out and counted.
public struct ExperimentSummary: Sendable {
    /// Mean and sample standard deviation.
    public struct Statistic: Sendable, Equatable {
        /// The values.
        public var values: [Double]
        /// Their mean (0 for none).
        public var mean: Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        /// The sample standard deviation; nil for fewer than two values.
        public var deviation: Double? {
            guard values.count >= 2 else { return nil }
            let mean = self.mean
            return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
        }
        /// Smallest and largest value.
        public var range: ClosedRange<Double>? {
            guard let low = values.min(), let high = values.max() else { return nil }
            return low...high
        }
    }

    /// One phase of one group.
    public struct PhaseFigures: Sendable, Equatable {
        /// The phase (normalised name).
        public var phase: String
        /// Seconds.
        public var duration: Statistic
        /// Joules.
        public var joules: Statistic
        /// Joules above idle, where the files have them.
        public var idleJoules: Statistic
        /// How often it ran on each node.
        public var nodes: [String: Int]
    }

    /// One scheduler at one weight (the default scheduler: all weights).
    public struct Group: Sendable, Equatable, Identifiable {
        /// The scheduler.
        public var scheduler: SchedulerChoice
        /// The weight; nil for the default scheduler's pooled baseline.
        public var weight: Double?
        /// Its complete runs.
        public var runs: [RecordedRun]
        /// Per phase, in workflow order.
        public var phases: [PhaseFigures]
        /// The whole workflow's seconds.
        public var duration: Statistic
        /// The whole workflow's joules.
        public var joules: Statistic
        /// The whole workflow's kilowatt-hours.
        public var kwh = Statistic(values: [])
        /// The whole workflow's grams of CO2-equivalent, over the runs whose every phase has them.
        public var gramsCO2e = Statistic(values: [])
        /// The whole workflow's cost, over the runs whose every phase has one, in `currency`.
        public var cost = Statistic(values: [])
        /// The currency of `cost` (that of the runs' first row with one).
        public var currency: String?
        /// Whether its runs are the offline cluster's (`workflow --simulate`): simulated runs
        /// form groups of their own and are compared with simulated runs only.
        public var simulated: Bool = false

        /// `energy@0.25`, `standard`; `simulated:energy@0.25` for simulated runs.
        public var id: String {
            (simulated ? "simulated:" : "")
                + (weight.map { "\(scheduler.rawValue)@\(WorkflowRun.weightText($0))" } ?? scheduler.rawValue)
        }

        /// `energy, w = 0.25`, `standard (all weights)`, with `, simulated` for simulated runs.
        public var title: String {
            (weight.map { "\(scheduler.rawValue), w = \(WorkflowRun.weightText($0))" }
                ?? "\(scheduler.rawValue) (all weights)") + (simulated ? ", simulated" : "")
        }
    }

    /// A file read, with what was used of it.
    public struct Source: Sendable, Equatable {
        /// Its path.
        public var path: String
        /// Complete runs.
        public var complete: Int
        /// Runs left out for a missing phase.
        public var incomplete: Int
    }

    /// The phases, in workflow order.
    public var phases: [String]
    /// The groups: energy by weight, then the default scheduler.
    public var groups: [Group]
    /// The files.
    public var sources: [Source]

    /// The default scheduler's group of real runs (else of simulated ones), if any.
    public var baseline: Group? { baseline(simulated: false) ?? baseline(simulated: true) }

    /// The default scheduler's group of real or of simulated runs.
    public func baseline(simulated: Bool) -> Group? {
        groups.first { $0.scheduler == .standard && $0.simulated == simulated }
    }

    /// Whether any group is simulated.
    public var hasSimulatedRuns: Bool { groups.contains(where: \.simulated) }

    /// The phases whose joules include energy the plugs recorded while the monitor had no
    /// samples (a monitor restart during the phase), and those joules.
    public var backfilled: (phases: Int, joules: Double) {
        let rows = groups.flatMap { $0.runs.flatMap(\.rows) }.compactMap(\.backfilledJoules).filter { $0 > 0 }
        return (rows.count, rows.reduce(0, +))
    }

    /// Energy saved against the baseline of the same kind (real or simulated), percent of its
    /// mean joules (positive: less energy).
    public func energySavedPercent(_ group: Group) -> Double? {
        guard let baseline = baseline(simulated: group.simulated), baseline.id != group.id, baseline.joules.mean > 0
        else { return nil }
        return 100 * (baseline.joules.mean - group.joules.mean) / baseline.joules.mean
    }

    /// A saving against the baseline: how much less the group's mean is, in the figure's unit
    /// and in percent of the baseline's mean, with its spread over the repetitions (the
    /// standard deviation of the difference of the two means, √(s₁²/n₁ + s₂²/n₂); nil with
    /// fewer than two runs on either side).
    public struct Saving: Sendable, Equatable {
        /// Baseline mean minus group mean (positive: less).
        public var amount: Double
        /// `amount` in percent of the baseline's mean.
        public var percent: Double
        /// The spread of `amount`.
        public var spread: Double?
    }

    /// The saving of `figure` (kWh, grams, cost) of `group` against the baseline of the same
    /// kind; nil for the baseline itself or where either side has no values.
    public func saving(_ group: Group, _ figure: KeyPath<Group, Statistic>) -> Saving? {
        guard let baseline = baseline(simulated: group.simulated), baseline.id != group.id else { return nil }
        let mine = group[keyPath: figure]
        let theirs = baseline[keyPath: figure]
        guard !mine.values.isEmpty, !theirs.values.isEmpty, theirs.mean > 0 else { return nil }
        let amount = theirs.mean - mine.mean
        var spread: Double?
        if let a = mine.deviation, let b = theirs.deviation {
            spread = (a * a / Double(mine.values.count) + b * b / Double(theirs.values.count)).squareRoot()
        }
        return Saving(amount: amount, percent: 100 * amount / theirs.mean, spread: spread)
    }

    /// Whether any run has emissions or cost (a `--config` with `carbon:` or `price:`).
    public var hasFootprint: Bool { groups.contains { !$0.gramsCO2e.values.isEmpty || !$0.cost.values.isEmpty } }

    /// Time lost against the baseline of the same kind, percent of its mean duration
    /// (positive: slower).
    public func timeLostPercent(_ group: Group) -> Double? {
        guard let baseline = baseline(simulated: group.simulated), baseline.id != group.id,
            baseline.duration.mean > 0
        else { return nil }
        return 100 * (group.duration.mean - baseline.duration.mean) / baseline.duration.mean
    }

    /// Summarises the rows of each file (`files`: path and rows).
    public init(files: [(path: String, rows: [ResultRow])]) {
        var phases: [String] = []
        var runs: [RecordedRun] = []
        var sources: [Source] = []
        for file in files {
            let split = RecordedRun.split(file.rows, source: file.path)
            for phase in split.phases where !phases.contains(phase) { phases.append(phase) }
            let complete = split.runs.filter { $0.isComplete(phases: split.phases) }
            runs += complete
            sources.append(
                Source(path: file.path, complete: complete.count, incomplete: split.runs.count - complete.count))
        }
        var keyed: [String: (SchedulerChoice, Double?, Bool, [RecordedRun])] = [:]
        for run in runs {
            let scheduler = run.scheduler ?? .energy
            let weight = scheduler == .standard ? nil : run.weight
            let key = "\(run.simulated)/\(scheduler.rawValue)@\(weight.map { "\($0)" } ?? "-")"
            keyed[key, default: (scheduler, weight, run.simulated, [])].3.append(run)
        }
        let groups = keyed.values.map { scheduler, weight, simulated, runs in
            var group = Group(
                scheduler: scheduler, weight: weight, runs: runs,
                phases: phases.map { phase in
                    let rows = runs.compactMap { $0.row(phase) }
                    return PhaseFigures(
                        phase: phase, duration: Statistic(values: rows.map(\.durationSeconds)),
                        joules: Statistic(values: rows.map(\.joules)),
                        idleJoules: Statistic(values: rows.compactMap(\.idleJoules)),
                        nodes: Dictionary(rows.map { ($0.node, 1) }, uniquingKeysWith: +))
                },
                duration: Statistic(values: runs.map(\.seconds)), joules: Statistic(values: runs.map(\.joules)),
                simulated: simulated)
            group.kwh = Statistic(values: runs.map(\.kwh))
            group.gramsCO2e = Statistic(values: runs.compactMap(\.gramsCO2e))
            group.currency = runs.lazy.flatMap(\.rows).first { $0.cost != nil }?.currency
            group.cost = Statistic(
                values: runs.filter { $0.rows.first?.currency == group.currency }.compactMap(\.cost))
            return group
        }
        self.phases = phases
        self.groups = groups.sorted { a, b in
            if a.simulated != b.simulated { return !a.simulated }
            if a.scheduler != b.scheduler { return a.scheduler < b.scheduler }
            return (a.weight ?? -1) < (b.weight ?? -1)
        }
        self.sources = sources
    }
}

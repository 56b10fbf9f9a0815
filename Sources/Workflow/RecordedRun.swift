/// One workflow run as a results file records it: its phases' rows, in order.
public struct RecordedRun: Sendable, Equatable {
    /// The file it came from.
    public var source: String
    /// The scheduler of its rows.
    public var scheduler: SchedulerChoice?
    /// Their weight.
    public var weight: Double?
    /// The first row's timestamp.
    public var timestamp: String
    /// Its rows, one per phase.
    public var rows: [ResultRow]

    /// Whether it ran on the offline cluster (`workflow --simulate`).
    public var simulated: Bool { rows.first?.simulated ?? false }

    /// Whether it has a row for every phase of `phases` (normalised names).
    public func isComplete(phases: [String]) -> Bool {
        Set(rows.map(\.phaseName)).isSuperset(of: phases)
    }

    /// The row of `phase` (a normalised name).
    public func row(_ phase: String) -> ResultRow? { rows.first { $0.phaseName == phase } }

    /// Joules of all phases.
    public var joules: Double { rows.reduce(0) { $0 + $1.joules } }

    /// Kilowatt-hours of all phases (`Joules` where a row has no `Kwh`).
    public var kwh: Double { rows.reduce(0) { $0 + ($1.kwh ?? $1.joules / 3_600_000) } }

    /// Grams of CO2-equivalent of all phases; nil unless every row has them.
    public var gramsCO2e: Double? {
        rows.reduce(Double?.some(0)) { total, row in total.flatMap { sum in row.gramsCO2e.map { sum + $0 } } }
    }

    /// Cost of all phases; nil unless every row has one, in one currency.
    public var cost: Double? {
        guard Set(rows.map(\.currency)).count == 1 else { return nil }
        return rows.reduce(Double?.some(0)) { total, row in total.flatMap { sum in row.cost.map { sum + $0 } } }
    }

    /// Seconds of all phases (the workflow's duration without the gaps between phases).
    public var seconds: Double { rows.reduce(0) { $0 + $1.durationSeconds } }

    /// Splits a file's rows into runs. A row opens a new run when its phase is already in
    /// the current one, when scheduler or weight change, or when it is the file's first phase
    /// with a new timestamp: so the runner's files (one timestamp per run), the thesis's
    /// results (likewise) and its baseline (one timestamp per phase, interrupted attempts of
    /// one phase in between) all split right. Returns the runs and the phases in the order
    /// the file first names them.
    public static func split(_ rows: [ResultRow], source: String) -> (runs: [RecordedRun], phases: [String]) {
        var phases: [String] = []
        for row in rows where !phases.contains(row.phaseName) { phases.append(row.phaseName) }
        var runs: [RecordedRun] = []
        for row in rows {
            if var current = runs.last, current.scheduler == row.scheduler, current.weight == row.weight,
                current.simulated == row.simulated, current.row(row.phaseName) == nil,
                !(row.phaseName == phases.first && row.timestamp != current.timestamp)
            {
                current.rows.append(row)
                runs[runs.count - 1] = current
            } else {
                runs.append(
                    RecordedRun(
                        source: source, scheduler: row.scheduler, weight: row.weight, timestamp: row.timestamp,
                        rows: [row]))
            }
        }
        return (runs, phases)
    }
}

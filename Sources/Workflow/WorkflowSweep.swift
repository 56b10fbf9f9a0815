/// The experiment matrix: every scheduler at every weight, `repeat` times, interleaved by
/// repetition (all cells once, then all again) so that drift over the hours of a sweep
/// (temperature, background load) spreads over every cell instead of biasing the last ones.
/// Resumable: runs the output file already holds complete are not run again.
public struct WorkflowSweep: Sendable, Equatable {
    /// One cell of the matrix.
    public struct Cell: Sendable, Hashable {
        /// The scheduler.
        public var scheduler: SchedulerChoice
        /// The weight.
        public var weight: Double

        /// Creates a cell.
        public init(scheduler: SchedulerChoice, weight: Double) {
            self.scheduler = scheduler
            self.weight = weight
        }
    }

    /// One planned run.
    public struct Step: Sendable, Equatable {
        /// Its cell.
        public var cell: Cell
        /// Which repetition of the cell (1-based).
        public var repetition: Int
        /// Whether the output has it already.
        public var done: Bool
    }

    /// The schedulers, in order.
    public var schedulers: [SchedulerChoice]
    /// The weights, in order.
    public var weights: [Double]
    /// Runs per cell.
    public var repetitions: Int

    /// Creates a sweep.
    public init(schedulers: [SchedulerChoice], weights: [Double], repetitions: Int) {
        self.schedulers = schedulers
        self.weights = weights
        self.repetitions = repetitions
    }

    /// Complete runs per cell in `rows` (an output file's), for the workflow's `phases`.
    public static func completed(in rows: [ResultRow], phases: [String]) -> [Cell: Int] {
        var counts: [Cell: Int] = [:]
        for run in RecordedRun.split(rows, source: "").runs where run.isComplete(phases: phases) {
            guard let scheduler = run.scheduler, let weight = run.weight else { continue }
            counts[Cell(scheduler: scheduler, weight: weight), default: 0] += 1
        }
        return counts
    }

    /// Every run of the matrix in order, those already `completed` marked done.
    public func plan(completed: [Cell: Int]) -> [Step] {
        var steps: [Step] = []
        for repetition in 1...max(1, repetitions) {
            for weight in weights {
                for scheduler in schedulers {
                    let cell = Cell(scheduler: scheduler, weight: weight)
                    steps.append(
                        Step(cell: cell, repetition: repetition, done: repetition <= completed[cell, default: 0]))
                }
            }
        }
        return steps
    }
}

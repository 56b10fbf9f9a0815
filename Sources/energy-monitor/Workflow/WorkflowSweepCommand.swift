import ArgumentParser
import Workflow

/// `energy-monitor workflow sweep`: every scheduler at every weight, `--repeat` times,
/// resuming where an earlier sweep into the same output stopped.
struct WorkflowSweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the whole matrix of schedulers and weights; runs already complete in --output are skipped.",
        discussion: """
            The runs go by repetition: every scheduler at every weight once, then again, so that drift \
            over the hours of a sweep spreads over every cell. An interrupted sweep started again with the \
            same options runs only what is missing (a run cut short is run again from its first phase).
            """
    )

    @OptionGroup var options: WorkflowOptions

    @Option(name: .long, help: "Comma-separated weights, e.g. 0,0.25,0.5,0.75,1.")
    var weights: String = "0,0.25,0.5,0.75,1"

    @Option(name: .long, help: "Comma-separated schedulers: energy, standard.")
    var schedulers: String = "energy,standard"

    @Option(name: .long, help: "Runs per scheduler and weight.")
    var `repeat`: Int = 3

    func validate() throws {
        _ = try parsedWeights()
        _ = try parsedSchedulers()
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat: \(`repeat`) is outside 1...1000") }
    }

    func parsedWeights() throws -> [Double] { try Self.weights(weights) }

    /// Comma-separated weights in 0...1, each once (`--weights`).
    static func weights(_ text: String) throws -> [Double] {
        var values: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let value = Double(text), value.isFinite, (0...1).contains(value) else {
                throw ValidationError("--weights: \"\(text)\" is not a weight in 0...1")
            }
            guard !values.contains(value) else { throw ValidationError("--weights: \(text) is given twice") }
            values.append(value)
        }
        return values
    }

    func parsedSchedulers() throws -> [SchedulerChoice] {
        var values: [SchedulerChoice] = []
        for part in schedulers.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let value = SchedulerChoice(text: text) else {
                throw ValidationError("--schedulers: \"\(text)\" is neither energy nor standard")
            }
            guard !values.contains(value) else { throw ValidationError("--schedulers: \(text) is given twice") }
            values.append(value)
        }
        return values
    }

    func run() async throws {
        let session = try await options.makeSession()
        let sweep = WorkflowSweep(
            schedulers: try parsedSchedulers(), weights: try parsedWeights(), repetitions: self.repeat)
        let phases = session.runner.configuration.workflow.phases.map(\.name)
        let existing: [ResultRow]
        do { existing = try ResultFile.read(session.output, missingIsEmpty: true) } catch {
            throw CommandFailure("--output: \(error)")
        }
        let plan = sweep.plan(completed: WorkflowSweep.completed(in: existing, phases: phases))
        let remaining = plan.filter { !$0.done }.count
        WorkflowOptions.say(
            "sweep: \(plan.count) runs, \(plan.count - remaining) in \(session.output) already, \(remaining) to go")
        try await session.runInterruptible { runner, output in
            var index = 0
            for step in plan {
                if step.done {
                    WorkflowOptions.say(
                        WorkflowProgress.skipped(
                            scheduler: step.cell.scheduler, weight: step.cell.weight, repetition: step.repetition
                        ).description)
                    continue
                }
                index += 1
                _ = try await runner.run(
                    scheduler: step.cell.scheduler, weight: step.cell.weight, repetition: index, of: remaining
                ) { row in
                    try ResultFile.append(row, to: output)
                }
            }
        }
        WorkflowOptions.say("sweep: complete")
    }
}

import ArgumentParser
import Workflow

/// `energy-monitor workflow run`: the workflow once (or `--repeat` times) under one
/// scheduler at one weight.
struct WorkflowRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow's phases as Jobs, appending one row per phase to --output.",
        discussion: """
            Each phase's Job is created through the Kubernetes API (kubeconfig, context or in-cluster), \
            followed to its end, and its pod's node and container times give the window whose joules \
            the monitor integrates. Columns: Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,\
            Scheduler,Coverage,IdleJoules,Simulated. With --simulate the whole loop runs offline in this process \
            (see README, "Offline runs"). A failure, the phase timeout or Ctrl-C deletes the run's Jobs.
            """
    )

    @OptionGroup var options: WorkflowOptions

    @Option(name: .long, help: "energy (my-energy-scheduler) or standard (the default scheduler).")
    var scheduler: String

    @Option(name: .long, help: "Weight between energy (0) and performance (1).")
    var weight: Double

    @Option(name: .long, help: "Runs, one after the other.")
    var `repeat`: Int = 1

    func validate() throws {
        guard SchedulerChoice(text: scheduler) != nil else {
            throw ValidationError("--scheduler: \"\(scheduler)\" is neither energy nor standard")
        }
        guard weight.isFinite, (0...1).contains(weight) else {
            throw ValidationError("--weight: \(weight) is outside 0...1")
        }
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat: \(`repeat`) is outside 1...1000") }
    }

    func run() async throws {
        let session = try await options.makeSession()
        let scheduler = SchedulerChoice(text: self.scheduler) ?? .energy
        let weight = self.weight
        let total = self.repeat
        try await session.runInterruptible { runner, output in
            for repetition in 1...total {
                _ = try await runner.run(scheduler: scheduler, weight: weight, repetition: repetition, of: total) {
                    row in
                    try ResultFile.append(row, to: output)
                }
            }
        }
    }
}

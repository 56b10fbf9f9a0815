import ArgumentParser
import EnergyModel

/// `energy-monitor`: the root command.
struct EnergyMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy-monitor",
        abstract: "Energy-aware Kubernetes: poll Shelly plugs, store every reading, export metrics, score nodes.",
        version: EnergyModel.EnergyMonitorVersion.string,
        subcommands: [
            RunCommand.self, DemoCommand.self, SimulateCommand.self, EnergyCommand.self, PinsCommand.self,
            PodsCommand.self, ScoreCommand.self,
            ExtenderCommand.self, WorkflowCommand.self, BenchCommand.self, HealthcheckCommand.self,
        ]
    )
}

import ArgumentParser
import Foundation
import Workflow

/// `energy-monitor workflow report`: one self-contained HTML page from results files.
struct WorkflowReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML report (tables, inline SVG plots) from results files.",
        discussion: """
            Reads the runner's files and the thesis's thesis_results.csv (energy scheduler) and \
            results_baseline.csv (default scheduler). Per scheduler and weight: duration and joules per \
            phase and per workflow (mean ± standard deviation), where each phase ran, energy saved and \
            time lost against the default scheduler, energy against duration, joules per phase stacked.
            """
    )

    @Argument(help: "Results files (CSV).")
    var files: [String]

    @Option(name: .long, help: "Where to write the page.")
    var html: String

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one results file") }
    }

    func run() async throws {
        var inputs: [(path: String, rows: [ResultRow])] = []
        for file in files {
            do { inputs.append((file, try ResultFile.read(file))) } catch { throw CommandFailure("\(error)") }
        }
        let summary = ExperimentSummary(files: inputs)
        guard summary.groups.contains(where: { !$0.runs.isEmpty }) else {
            throw CommandFailure("no complete workflow run in \(files.joined(separator: ", "))")
        }
        do {
            try ReportPage.html(summary).write(toFile: html, atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure("--html: cannot write \(html): \(error.localizedDescription)")
        }
        let runs = summary.groups.reduce(0) { $0 + $1.runs.count }
        Console.write(
            "wrote \(html): \(runs) runs in \(summary.groups.count) groups (\(summary.groups.map(\.id).joined(separator: ", ")))"
        )
    }
}

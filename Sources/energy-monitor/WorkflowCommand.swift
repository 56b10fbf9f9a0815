import ArgumentParser

/// `energy-monitor workflow`: the experiment harness that replaces the thesis's
/// `run_workflow.sh`.
struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Run workflows (Jobs per phase) under either scheduler, account energy per phase, report.",
        discussion: """
            run: one workflow, --repeat times; sweep: every scheduler at every weight, resumable; \
            report: an HTML page from results files (ours and the thesis's). The workflow file format \
            is in README.md (workflows/thesis-workflow.yaml is the thesis's workflow).
            """,
        subcommands: [WorkflowRunCommand.self, WorkflowSweepCommand.self, WorkflowReportCommand.self]
    )
}

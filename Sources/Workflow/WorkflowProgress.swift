/// What the runner tells whoever watches it, one line each.
public enum WorkflowProgress: Sendable, Equatable, CustomStringConvertible {
    /// A run begins.
    case runStarted(run: String, scheduler: SchedulerChoice, weight: Double, repetition: Int, of: Int)
    /// A placement probe went in for a phase whose image depends on the node.
    case probing(phase: String, job: String)
    /// The probe was bound: the phase runs there with this image.
    case placed(phase: String, node: String, variant: String?, image: String)
    /// A phase's Job was created.
    case jobCreated(phase: String, job: String)
    /// A pod of the phase changed state (scheduled, running, finished, evicted, unschedulable).
    case pod(phase: String, pod: String, state: String)
    /// A request failed and will be repeated.
    case retrying(String)
    /// A phase finished and its row was written.
    case phaseFinished(ResultRow)
    /// A run finished.
    case runFinished(run: String, seconds: Double, joules: Double)
    /// Jobs of a failed or interrupted run were deleted.
    case cleanedUp(jobs: [String])
    /// A Job could not be deleted.
    case cleanupFailed(job: String, reason: String)
    /// A run of the sweep is skipped: the output has it already.
    case skipped(scheduler: SchedulerChoice, weight: Double, repetition: Int)

    /// One line.
    public var description: String {
        switch self {
        case .runStarted(let run, let scheduler, let weight, let repetition, let total):
            "run \(run): scheduler \(scheduler.rawValue), weight \(WorkflowRun.weightText(weight)) (\(repetition) of \(total))"
        case .probing(let phase, let job):
            "\(phase): placement probe \(job)"
        case .placed(let phase, let node, let variant, let image):
            "\(phase): placed on \(node), image \(image)\(variant.map { " (\($0))" } ?? "")"
        case .jobCreated(let phase, let job):
            "\(phase): Job \(job) created"
        case .pod(let phase, let pod, let state):
            // The state names the pod first (`pod-x on tvpc: running`).
            state.hasPrefix(pod) ? "\(phase): pod \(state)" : "\(phase): pod \(pod) \(state)"
        case .retrying(let line):
            "retrying: \(line)"
        case .phaseFinished(let row):
            "\(row.phase): done on \(row.node) in \(Int64(clampingRounding: row.durationSeconds)) s, "
                + String(format: "%.2f J, %.1f %% covered", row.joules, row.coveragePercent ?? 0)
                + ((row.backfilledJoules ?? 0) > 0
                    ? String(
                        format: ", %.2f J of them backfilled from the plug's own figures", row.backfilledJoules ?? 0)
                    : "")
        case .runFinished(let run, let seconds, let joules):
            "run \(run): finished, " + String(format: "%.0f s, %.2f J", seconds, joules)
        case .cleanedUp(let jobs):
            jobs.isEmpty ? "no Jobs to delete" : "deleted Jobs \(jobs.joined(separator: ", "))"
        case .cleanupFailed(let job, let reason):
            "could not delete Job \(job): \(reason) (delete it with kubectl delete job \(job))"
        case .skipped(let scheduler, let weight, let repetition):
            "skipped: scheduler \(scheduler.rawValue), weight \(WorkflowRun.weightText(weight)), repetition \(repetition) is in the output already"
        }
    }
}

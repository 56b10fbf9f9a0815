import AnnotationContract
import Foundation

/// Which scheduler places a run's pods.
public enum SchedulerChoice: String, Sendable, CaseIterable, Comparable {
    /// `my-energy-scheduler`: the default scheduler with the energy extender.
    case energy
    /// The cluster's default scheduler (the thesis's baseline).
    case standard

    /// `spec.schedulerName`, nil for the default scheduler.
    public var schedulerName: String? { self == .energy ? WorkloadContract.energySchedulerName : nil }

    /// Reads `energy` or `standard` (any case, as the thesis's baseline wrote `Standard`).
    public init?(text: String) {
        self.init(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// Energy first.
    public static func < (lhs: SchedulerChoice, rhs: SchedulerChoice) -> Bool {
        lhs == .energy && rhs == .standard
    }
}

/// One run of a workflow: its id (in every Job name and label), scheduler, weight and start.
public struct WorkflowRun: Sendable, Equatable {
    /// Random, lower-case: `k3x9q`.
    public var id: String
    /// Which scheduler places the pods.
    public var scheduler: SchedulerChoice
    /// The weight between energy (0) and performance (1) the pods ask for.
    public var weight: Double
    /// When the run started, unix milliseconds (every row's `Timestamp`).
    public var startedMilliseconds: Int64

    /// Characters of a run id.
    public static let idLength = 5

    /// Creates a run with a fresh id.
    public init(
        scheduler: SchedulerChoice, weight: Double, startedMilliseconds: Int64, id: String = WorkflowRun.makeID()
    ) {
        self.id = id
        self.scheduler = scheduler
        self.weight = weight
        self.startedMilliseconds = startedMilliseconds
    }

    /// A random id of `idLength` characters that is a valid DNS label on its own.
    public static func makeID() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let alphabet = letters + Array("0123456789")
        return String(letters.randomElement() ?? "a")
            + String((1..<idLength).map { _ in alphabet.randomElement() ?? "x" })
    }

    /// The weight as the annotation and the `Weight` column write it: `0.0`, `0.25`, `1.0`
    /// (the shortest text that reads back as the same number, as the thesis wrote them).
    public static func weightText(_ weight: Double) -> String {
        "\(weight)"
    }

    /// The weight as annotation value.
    public var weightText: String { Self.weightText(weight) }

    /// `<workflow>-<phase>-<id>`.
    public func jobName(workflow: WorkflowDefinition, phase: WorkflowDefinition.Phase) -> String {
        "\(workflow.name)-\(phase.name)-\(id)"
    }
}

/// The labels and annotations the runner puts on its Jobs and pods, besides the workload
/// contract's: they find a run's pods and let `kubectl` select a run.
public enum WorkflowLabels {
    /// The workflow's name.
    public static let workflow = "energy-monitor/workflow"
    /// The run id.
    public static let run = "energy-monitor/run"
    /// The phase.
    public static let phase = "energy-monitor/phase"
    /// `"true"` on placement probes.
    public static let probe = "energy-monitor/probe"
    /// Annotation naming the scheduler choice (`energy`, `standard`).
    public static let scheduler = "energy-monitor/scheduler"
}

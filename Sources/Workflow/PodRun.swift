import AnnotationContract
import EnergyModel
import Foundation
import JSON
import Scoring

/// One pod's run on its node, read from the pod object: from its first container start to
/// its last container finish (now while any container runs). What `energy-monitor pods`
/// lists and the workflow runner accounts for.
public struct PodRun: Sendable, Equatable {
    /// The pod's name.
    public var name: String
    /// Its namespace (empty where not known).
    public var namespace: String = ""
    /// Its Job (label `job-name`), else its name.
    public var phase: String
    /// The weight annotation as written.
    public var weight: String
    /// The node it ran on.
    public var node: String
    /// The `workload-profile` label.
    public var profile: String
    /// First container start, unix milliseconds.
    public var startMilliseconds: Int64
    /// Last container finish (or `now`), unix milliseconds.
    public var finishMilliseconds: Int64
    /// `status.phase`: `Running`, `Succeeded`, `Failed`.
    public var podPhase: String

    /// A PodList that is not one.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// One line.
        public let description: String
    }

    /// Creates a run.
    public init(
        name: String, phase: String, weight: String, node: String, profile: String, startMilliseconds: Int64,
        finishMilliseconds: Int64, podPhase: String = "Succeeded"
    ) {
        self.name = name
        self.phase = phase
        self.weight = weight
        self.node = node
        self.profile = profile
        self.startMilliseconds = startMilliseconds
        self.finishMilliseconds = finishMilliseconds
        self.podPhase = podPhase
    }

    /// The run of one pod object, nil when it has not run: not bound to a node, or no
    /// container started yet. A container that started and ended within one second (the API
    /// writes whole seconds) is a run of length zero.
    public init?(pod: JSONValue, nowMilliseconds now: Int64) {
        let metadata = pod["metadata"]
        guard let name = metadata?["name"]?.string, let node = pod["spec"]?["nodeName"]?.string, !node.isEmpty else {
            return nil
        }
        let labels = metadata?["labels"]?.object?.compactMapValues(\.string) ?? [:]
        let annotations = metadata?["annotations"]?.object?.compactMapValues(\.string) ?? [:]
        var start: Int64?
        var finish: Int64?
        var running = false
        for container in pod["status"]?["containerStatuses"]?.array ?? [] {
            let state = container["state"]
            if let runningState = state?["running"] {
                running = true
                if let started = Self.time(runningState["startedAt"]) { start = min(start ?? started, started) }
            } else if let terminated = state?["terminated"] {
                if let started = Self.time(terminated["startedAt"]) { start = min(start ?? started, started) }
                if let finished = Self.time(terminated["finishedAt"]) { finish = max(finish ?? finished, finished) }
            }
        }
        guard let start else { return nil }
        let end = running ? now : (finish ?? now)
        guard end >= start else { return nil }
        self.init(
            name: name, phase: labels["job-name"] ?? name, weight: annotations[WorkloadContract.weightAnnotation] ?? "",
            node: node, profile: labels[WorkloadContract.profileLabel] ?? "", startMilliseconds: start,
            finishMilliseconds: end,
            podPhase: pod["status"]?["phase"]?.string ?? "")
        self.namespace = metadata?["namespace"]?.string ?? ""
    }

    /// The pods of a PodList that have run, by start time.
    public static func parse(podList bytes: [UInt8], nowMilliseconds now: Int64) throws(ParseError) -> [PodRun] {
        guard let list = JSONValue.parse(bytes), let items = list["items"]?.array else {
            throw ParseError(description: "the API did not answer with a PodList")
        }
        return items.compactMap { PodRun(pod: $0, nowMilliseconds: now) }
            .sorted { ($0.startMilliseconds, $0.name) < ($1.startMilliseconds, $1.name) }
    }

    private static func time(_ value: JSONValue?) -> Int64? {
        guard let text = value?.string else { return nil }
        return try? TimeParsing.milliseconds(text, nowMilliseconds: 0)
    }

    /// Seconds from start to finish.
    public var seconds: Double { Double(finishMilliseconds - startMilliseconds) / 1000 }

    /// `2026-01-21T21:25:01` (UTC), as the thesis harness wrote its timestamps.
    public static func timestamp(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// What a window on a node cost: the monitor's figures and, with a knowledge base, the
/// joules above the node's idle baseline.
public struct EnergyAccount: Sendable, Equatable {
    /// Joules in the window (as `energy`: measured plus backfilled).
    public var joules: Double
    /// Joules over covered and backfilled seconds; nil without either.
    public var averageWatts: Double?
    /// Share of the window the samples cover, percent.
    public var coveragePercent: Double
    /// `joules - idle watts x (covered + backfilled) seconds`, nil without an idle figure for the node.
    public var idleJoules: Double?
    /// Of `joules`, those recorded for gaps from the plug's own figures.
    public var backfilledJoules: Double

    /// Accounts `figures` for a window of `seconds`, subtracting `idleWatts` over the part of
    /// it whose joules were counted (measured or backfilled).
    public init(figures: EnergyFigures, seconds: Double, idleWatts: Double?) {
        joules = figures.joules
        averageWatts = figures.averageWatts
        coveragePercent = figures.coveragePercent
        backfilledJoules = figures.backfilledJoules
        idleJoules = idleWatts.map { figures.joules - $0 * seconds * figures.completePercent / 100 }
    }

    /// The idle power of the knowledge-base entry serving `node` for `profile` (its first
    /// variant when several serve it), nil when none does.
    public static func idleWatts(_ knowledge: KnowledgeBase, profile: String, node: String) -> Double? {
        guard let profile = try? knowledge.profile(named: profile) else { return nil }
        return profile.variants(of: node).first?.idlePowerWatts
    }
}

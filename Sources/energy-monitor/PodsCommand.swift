import AnnotationContract
import ArgumentParser
import EnergyModel
import Foundation
import Scoring
import Store

/// `energy-monitor pods`: the energy each pod cost on its node, from the pods' container
/// start and finish times (Kubernetes API) and the store, as the thesis' CSV rows.
struct PodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pods",
        abstract: "Per-pod energy as CSV: Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Coverage.",
        discussion: """
            Pods come from the Kubernetes API (kubeconfig or in-cluster). Each pod's window runs from its \
            first container start to its last container finish (now while running); its node's power in \
            that window is integrated from the store. Phase is the pod's Job (label job-name) or its name. \
            With --knowledge-base, IdleJoules subtracts the node's idle baseline.
            """
    )

    @Option(name: .long, help: "The SQLite database of the service.")
    var database: String

    @Option(name: .long, help: "Namespace of the pods.")
    var namespace: String = "default"

    @Flag(name: .long, help: "Pods of every namespace.")
    var allNamespaces = false

    @Option(name: [.customShort("l"), .long], help: "Label selector, e.g. app=ml-workflow.")
    var selector: String?

    @OptionGroup var kubernetes: KubernetesOptions

    @Option(name: .long, help: "Knowledge base (ConfigMap manifest or profiles.yaml) for idle-corrected joules.")
    var knowledgeBase: String?

    @Option(name: .long, help: "Poll interval (default: as recorded by the service, else 1s).")
    var interval: String?

    func run() async throws {
        guard FileManager.default.fileExists(atPath: database) else {
            throw CommandFailure("--database: \(database) does not exist")
        }
        let knowledge: KnowledgeBase?
        do {
            knowledge = try knowledgeBase.map { try KnowledgeBase(contentsOfFile: $0) }
        } catch {
            throw CommandFailure("--knowledge-base: \(error)")
        }
        var path = allNamespaces ? "/api/v1/pods" : "/api/v1/namespaces/\(Self.escape(namespace))/pods"
        if let selector { path += "?labelSelector=\(Self.escape(selector))" }
        let body = try await kubernetes.get(path, what: "listing pods")
        let pods: [PodRun]
        do {
            pods = try PodRun.parse(podList: body, now: WallClock.nowMilliseconds())
        } catch {
            throw CommandFailure("listing pods: \(error)")
        }
        let store = try EnergyStore(path: database, readOnly: true)
        defer { store.close() }
        let intervalMilliseconds = try await CommandSupport.interval(interval, store: store)
        var lines = ["Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Coverage" + (knowledge != nil ? ",IdleJoules" : "")]
        for pod in pods {
            let result = try await store.energy(
                node: pod.node, fromMilliseconds: pod.startMilliseconds, toMilliseconds: pod.finishMilliseconds,
                maxGapMilliseconds: 3 * intervalMilliseconds
            )
            let seconds = Double(pod.finishMilliseconds - pod.startMilliseconds) / 1000
            var fields = [
                PodRun.timestamp(pod.startMilliseconds), pod.phase, pod.weight, pod.node, pod.profile,
                String(Int64(clampingRounding: seconds)),
                result.energy.averageWatts.map { String(format: "%.2f", $0) } ?? "",
                String(format: "%.2f", result.energy.joules),
                String(format: "%.1f", result.coveragePercent),
            ]
            if let knowledge {
                fields.append(
                    PodRun.idleWatts(knowledge, profile: pod.profile, node: pod.node).map {
                        String(format: "%.2f", result.energy.joules - $0 * seconds * result.coveragePercent / 100)
                    } ?? ""
                )
            }
            lines.append(fields.map(PodRun.csvField).joined(separator: ","))
        }
        Console.write(lines.joined(separator: "\n"))
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// One pod's run on its node, from a PodList.
struct PodRun: Equatable {
    var name: String
    var phase: String
    var weight: String
    var node: String
    var profile: String
    var startMilliseconds: Int64
    var finishMilliseconds: Int64

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    /// Pods that have run: scheduled to a node with at least one container started. Finish is
    /// the last container's finish, or `now` while any container still runs.
    static func parse(podList bytes: [UInt8], now: Int64) throws -> [PodRun] {
        guard let list = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let items = list["items"] as? [[String: Any]]
        else { throw ParseError(description: "the API did not answer with a PodList") }
        var runs: [PodRun] = []
        for item in items {
            let metadata = item["metadata"] as? [String: Any] ?? [:]
            let labels = metadata["labels"] as? [String: String] ?? [:]
            let annotations = metadata["annotations"] as? [String: String] ?? [:]
            let spec = item["spec"] as? [String: Any] ?? [:]
            let status = item["status"] as? [String: Any] ?? [:]
            guard let name = metadata["name"] as? String, let node = spec["nodeName"] as? String else { continue }
            var start: Int64?
            var finish: Int64?
            var running = false
            for container in status["containerStatuses"] as? [[String: Any]] ?? [] {
                let state = container["state"] as? [String: Any] ?? [:]
                if let runningState = state["running"] as? [String: Any] {
                    running = true
                    if let started = time(runningState["startedAt"]) { start = min(start ?? started, started) }
                } else if let terminated = state["terminated"] as? [String: Any] {
                    if let started = time(terminated["startedAt"]) { start = min(start ?? started, started) }
                    if let finished = time(terminated["finishedAt"]) { finish = max(finish ?? finished, finished) }
                }
            }
            guard let start else { continue }
            let end = running ? now : (finish ?? now)
            guard end > start else { continue }
            runs.append(
                PodRun(
                    name: name,
                    phase: labels["job-name"] ?? name,
                    weight: annotations[WorkloadContract.weightAnnotation] ?? "",
                    node: node,
                    profile: labels[WorkloadContract.profileLabel] ?? "",
                    startMilliseconds: start,
                    finishMilliseconds: end
                )
            )
        }
        return runs.sorted { ($0.startMilliseconds, $0.name) < ($1.startMilliseconds, $1.name) }
    }

    private static func time(_ value: Any?) -> Int64? {
        guard let text = value as? String else { return nil }
        return try? TimeParsing.milliseconds(text, nowMilliseconds: 0)
    }

    /// `2026-01-21T21:25:01` (UTC), as the thesis harness wrote it.
    static func timestamp(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// The idle power of the knowledge-base entry serving `node` for `profile` (the first
    /// variant when several serve it).
    static func idleWatts(_ knowledge: KnowledgeBase, profile: String, node: String) -> Double? {
        guard let profile = try? knowledge.profile(named: profile) else { return nil }
        return profile.variants(of: node).first?.idlePowerWatts
    }

    static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") || text.contains("\n")
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}

import AnnotationContract
import ArgumentParser
import EnergyModel
import Foundation
import Kubernetes
import MonitorService
import Scoring
import Store
import Workflow

/// `energy-monitor pods`: the energy each pod cost on its node, from the pods' container
/// start and finish times (Kubernetes API) and the store, as the thesis' CSV rows.
struct PodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pods",
        abstract:
            "Per-pod energy as CSV: Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Coverage,AttributedJoules.",
        discussion: """
            Pods come from the Kubernetes API (kubeconfig or in-cluster). Each pod's window runs from its \
            first container start to its last container finish (now while running); its node's power in \
            that window is integrated from the store. Phase is the pod's Job (label job-name) or its name. \
            With --knowledge-base, IdleJoules subtracts the node's idle baseline. AttributedJoules is the pod's \
            own share of its node's energy as the service split it among the pods sharing the node \
            (kubernetes.podEnergy), empty where it split nothing.
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

    @Option(
        name: .long,
        help:
            "The service's configuration file: its carbon: and price: add Kwh,GramsCO2e,Cost,Currency of the attributed joules."
    )
    var config: String?

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
        var path = allNamespaces ? "/api/v1/pods" : "/api/v1/namespaces/\(KubernetesClient.queryValue(namespace))/pods"
        if let selector { path += "?labelSelector=\(KubernetesClient.queryValue(selector))" }
        // Page by page: only the figures of each pod are kept, never the whole list.
        let now = WallClock.nowMilliseconds()
        var runs: [PodRun] = []
        try await kubernetes.list(path, what: "listing pods") { page in
            if page.startsOver { runs.removeAll() }
            runs += page.items.compactMap { PodRun(pod: $0, nowMilliseconds: now) }
        }
        var settings = FootprintSettings()
        if let config {
            do throws(ConfigurationError) {
                settings = try MonitorConfiguration.loadFootprint(path: config).settings
            } catch {
                throw CommandFailure("--config: \(error)")
            }
        }
        let pods = runs.sorted { ($0.startMilliseconds, $0.name) < ($1.startMilliseconds, $1.name) }
        let store = try EnergyStore(path: database, readOnly: true)
        defer { store.close() }
        let intervalMilliseconds = try await CommandSupport.interval(interval, store: store)
        var lines = [
            "Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Coverage"
                + (knowledge != nil ? ",IdleJoules" : "") + ",AttributedJoules"
                + (settings.isEmpty ? "" : ",Kwh,GramsCO2e,Cost,Currency")
        ]
        let rates = try await CommandSupport.rates(settings, store: store)
        for pod in pods {
            let result = try await store.energy(
                node: pod.node, fromMilliseconds: pod.startMilliseconds, toMilliseconds: pod.finishMilliseconds,
                maxGapMilliseconds: 3 * intervalMilliseconds
            )
            let figures = EnergyFigures(
                joules: result.joules, averageWatts: result.averageWatts, coveragePercent: result.coveragePercent,
                samples: result.energy.samples, backfilledJoules: result.backfill.joules,
                backfilledPercent: result.backfilledPercent)
            let account = EnergyAccount(
                figures: figures, seconds: pod.seconds,
                idleWatts: knowledge.flatMap { EnergyAccount.idleWatts($0, profile: pod.profile, node: pod.node) })
            var fields = [
                PodRun.timestamp(pod.startMilliseconds), pod.phase, pod.weight, pod.node, pod.profile,
                String(Int64(clampingRounding: pod.seconds)),
                account.averageWatts.map { String(format: "%.2f", $0) } ?? "",
                String(format: "%.2f", account.joules),
                String(format: "%.1f", account.coveragePercent),
            ]
            if knowledge != nil {
                fields.append(account.idleJoules.map { String(format: "%.2f", $0) } ?? "")
            }
            // The pod's own rows of `pod_energy` over its window (every namespace's pods
            // have rows; the pod is known by namespace and name).
            let shares = try await store.podEnergy(
                namespace: pod.namespace, node: pod.node, fromMilliseconds: pod.startMilliseconds,
                toMilliseconds: pod.finishMilliseconds, rates: rates)
            let own = shares.filter { $0.kind == .pod && $0.pod == pod.name }
            fields.append(own.isEmpty ? "" : String(format: "%.2f", own.reduce(0) { $0 + $1.joules }))
            if !settings.isEmpty {
                // The footprint of the pod's attributed joules: empty where none were attributed.
                var footprint = own.first?.footprint
                for share in own.dropFirst() { if let more = share.footprint { footprint?.merge(more) } }
                fields += [
                    footprint.map { String(format: "%.6f", $0.kwh) } ?? "",
                    footprint?.gramsCO2e.map { String(format: "%.3f", $0) } ?? "",
                    footprint?.cost.map { String(format: "%.6f", $0) } ?? "",
                    footprint?.cost == nil ? "" : footprint?.currency ?? "",
                ]
            }
            lines.append(fields.map(ResultFile.csvField).joined(separator: ","))
        }
        Console.write(lines.joined(separator: "\n"))
    }
}

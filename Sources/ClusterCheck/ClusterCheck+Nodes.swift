import EnergyModel
import JSON
import Kubernetes
import Scoring
import UserInput

extension ClusterCheck {
    /// A node as the checks see it.
    struct ClusterNode: Sendable {
        var name: String
        var annotations: [String: String]
    }

    /// The monitor's configuration: `--config`, else its ConfigMap.
    func monitorSettings() async -> Result<MonitorSettings, CheckFailure> {
        do throws(CheckFailure) {
            let (text, source): (String, String)
            if let given = configuration.monitorConfiguration {
                (text, source) = given
            } else {
                let namespace = configuration.monitorNamespace
                let name = configuration.monitorConfigMap
                text = try await configMapValue(namespace: namespace, name: name, key: "config.yaml")
                source = "ConfigMap \(namespace)/\(name)"
            }
            do {
                return .success(try MonitorSettings(yaml: text, source: source))
            } catch {
                throw CheckFailure("\(error)", status: nil)
            }
        } catch {
            return .failure(error)
        }
    }

    /// Every node of the cluster, in pages, with its annotations.
    func clusterNodes() async -> Result<[ClusterNode], CheckFailure> {
        var nodes: [ClusterNode] = []
        do {
            _ = try await client.list(path: "/api/v1/nodes") { page in
                if page.startsOver { nodes.removeAll() }
                for item in page.items {
                    guard let name = item["metadata"]?["name"]?.string else { continue }
                    var annotations: [String: String] = [:]
                    for (key, value) in item["metadata"]?["annotations"]?.object ?? [:] {
                        if let text = value.string { annotations[key] = text }
                    }
                    nodes.append(ClusterNode(name: name, annotations: annotations))
                }
            }
        } catch {
            return .failure(CheckFailure("cannot list nodes: \(error)", status: error.status?.code))
        }
        return .success(nodes)
    }

    /// `plug-nodes`, `unmetered-nodes` and `power-annotations`.
    func checkNodes(settings: Result<MonitorSettings, CheckFailure>, nodes: Result<[ClusterNode], CheckFailure>)
        -> [CheckResult]
    {
        let names = ["plug-nodes", "unmetered-nodes", "power-annotations"]
        let monitor: MonitorSettings
        switch settings {
        case .success(let value): monitor = value
        case .failure(let failure):
            return names.map {
                CheckResult(
                    $0, .fail, "cannot read the monitor's configuration: \(failure.message)",
                    fix: "give it with --config FILE, or install it (kubectl apply -k k8s/)")
            }
        }
        let cluster: [ClusterNode]
        switch nodes {
        case .success(let value): cluster = value
        case .failure(let failure):
            return names.map {
                CheckResult($0, .fail, failure.message, fix: "the account running check needs list on nodes")
            }
        }
        let byName = Dictionary(cluster.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var results: [CheckResult] = []

        let missing = monitor.plugNodes.filter { byName[$0] == nil }
        if missing.isEmpty {
            results.append(
                CheckResult(
                    "plug-nodes", .ok, "every plug's node exists (\(monitor.plugNodes.joined(separator: ", ")))"))
        } else {
            results.append(
                CheckResult(
                    "plug-nodes", .fail,
                    "plugs name nodes the cluster does not have: \(Self.list(missing))",
                    fix: "plugs[].node must be a name kubectl get nodes shows"))
        }

        let plugged = Set(monitor.plugNodes)
        let unmetered = Set(monitor.unmetered)
        let unaccounted = cluster.map(\.name).filter { !plugged.contains($0) && !unmetered.contains($0) }
        let strayUnmetered = monitor.unmetered.filter { byName[$0] == nil }
        if !unaccounted.isEmpty {
            results.append(
                CheckResult(
                    "unmetered-nodes", .fail,
                    "nodes without a plug that are not listed as unmetered: \(Self.list(unaccounted))",
                    fix:
                        "add their plugs to plugs:, or list them under kubernetes.unmetered in the monitor's configuration"
                ))
        } else if !strayUnmetered.isEmpty {
            results.append(
                CheckResult(
                    "unmetered-nodes", .warn,
                    "kubernetes.unmetered names nodes the cluster does not have: \(Self.list(strayUnmetered))",
                    fix: "remove them from kubernetes.unmetered"))
        } else {
            results.append(
                CheckResult(
                    "unmetered-nodes", .ok,
                    "every node has a plug or is listed as unmetered (\(monitor.unmetered.count) unmetered)"))
        }

        guard monitor.annotate else {
            results.append(
                CheckResult(
                    "power-annotations", .fail, "the monitor does not annotate nodes (kubernetes.annotate is off)",
                    fix: "set kubernetes.annotate: true in the monitor's configuration"))
            return results
        }
        let reader = PowerAnnotations(prefix: monitor.prefix)
        var problems: [String] = []
        var ages: [Double] = []
        let now = configuration.clock()
        for node in monitor.plugNodes {
            guard let found = byName[node] else { continue }
            switch reader.read(found.annotations, now: now) {
            case .fresh(_, let age): ages.append(age)
            case .stale(_, let age): problems.append("\(node) (\(Int(clampingRounding: age)) s old)")
            case .absent: problems.append("\(node) (none)")
            case .invalid(let reason): problems.append("\(node) (\(reason.foldedToOneLine(limit: 80)))")
            }
        }
        if problems.isEmpty {
            let oldest = ages.max().map { String(format: "%.0f", $0) } ?? "0"
            results.append(
                CheckResult(
                    "power-annotations", .ok,
                    "\(ages.count) plug nodes have \(reader.wattsKey) under \(Int(clampingRounding: reader.maxAge)) s old (oldest \(oldest) s)"
                ))
        } else {
            results.append(
                CheckResult(
                    "power-annotations", .fail,
                    "power annotations missing or \(Int(clampingRounding: reader.maxAge)) s old or older on \(Self.list(problems))",
                    fix: "the monitor must run and reach its plugs (kubectl -n \(configuration.monitorNamespace) logs "
                        + "deploy/energy-monitor); its writes must be allowed (monitor-permissions, node-guard)"))
        }
        return results
    }

    /// The knowledge base against the cluster's nodes (``KnowledgeBase/audit(nodeNames:)``):
    /// entries that serve no node or several are failures, metered nodes a profile has no
    /// entry for are worth a warning (pods of that profile are kept off them); nodes left
    /// unmetered on purpose need no entry.
    func checkKnowledgeBase(nodes: Result<[ClusterNode], CheckFailure>, unmetered: Set<String>) async -> CheckResult {
        let knowledge: KnowledgeBase
        if let given = configuration.knowledgeBase {
            knowledge = given
        } else {
            let namespace = configuration.schedulerNamespace
            let name = configuration.knowledgeBaseConfigMap
            do {
                let text = try await configMapValue(namespace: namespace, name: name, key: "profiles.yaml")
                knowledge = try KnowledgeBase(yaml: text)
            } catch let failure as CheckFailure {
                return CheckResult(
                    "knowledge-base", .fail, failure.message,
                    fix: "give it with --knowledge-base FILE, or kubectl apply -k k8s/")
            } catch {
                return CheckResult(
                    "knowledge-base", .fail, "ConfigMap \(namespace)/\(name): \(error)",
                    fix: "correct profiles.yaml (energy-monitor score --knowledge-base FILE reads it the same way)")
            }
        }
        guard case .success(let cluster) = nodes else {
            return CheckResult("knowledge-base", .fail, "cannot list nodes to compare the knowledge base with")
        }
        let diagnostics = knowledge.audit(nodeNames: cluster.map(\.name))
        let entries = diagnostics.filter { $0.reason == .unmatchedEntry || $0.reason == .ambiguousEntry }
        if !entries.isEmpty {
            return CheckResult(
                "knowledge-base", .fail,
                "\(entries.count) entries do not map to exactly one node: "
                    + entries.map { $0.message.foldedToOneLine(limit: 160) }.joined(separator: "; "),
                fix: "rename the entries' nodeName to contain exactly one node name (kubectl get nodes)")
        }
        let unserved = diagnostics.filter { $0.reason == .unmatchedNode && !unmetered.contains($0.node ?? "") }
        if !unserved.isEmpty {
            var byProfile: [String: [String]] = [:]
            for diagnostic in unserved {
                byProfile[diagnostic.profile ?? "", default: []].append(diagnostic.node ?? "")
            }
            let text = byProfile.keys.sorted().map { "\($0): \(Self.list(byProfile[$0] ?? []))" }.joined(
                separator: "; ")
            return CheckResult(
                "knowledge-base", .warn,
                "profiles without an entry for some nodes (their pods are kept off them): \(text)",
                fix: "add entries for these nodes if they should run the profile")
        }
        return CheckResult(
            "knowledge-base", .ok,
            "every entry of \(knowledge.profileNames.count) profiles maps to one node, every node is served")
    }

    /// At most 10 names, then how many more.
    static func list(_ names: [String]) -> String {
        names.count <= 10
            ? names.joined(separator: ", ") : names.prefix(10).joined(separator: ", ") + " and \(names.count - 10) more"
    }
}

import ClusterSimulator
import CurlClient
import Foundation
import Kubernetes
import Logging

/// A `ClusterSimulator` on a free loopback port with a `KubernetesClient` for it.
public struct RunningCluster: Sendable {
    /// The simulator (to drive pods, inject faults and read requests).
    public let simulator: ClusterSimulator
    /// A client connected to it.
    public let client: KubernetesClient
    /// The client's HTTP client.
    public let http: CurlMultiClient

    /// The simulator's base URL.
    public var url: String { simulator.url ?? "" }
}

/// The reference cluster's three nodes (the thesis's names).
public let thesisNodes = [
    SimulatedNode(name: "tvpc", architecture: "amd64"), SimulatedNode(name: "dgoh-wyze", architecture: "amd64"),
    SimulatedNode(name: "rpi", architecture: "arm"),
]

/// Starts a simulator, runs `body` with it and a client, and stops both.
public func withCluster<T: Sendable>(
    nodes: [SimulatedNode] = thesisNodes,
    lifecycle: any PodLifecycle,
    token: String? = nil,
    permissions: [String: Set<String>]? = nil,
    replacementDelay: Duration = .milliseconds(100),
    metrics: ResourceMetricsModel? = nil,
    _ body: (RunningCluster) async throws -> T
) async throws -> T {
    var logger = Logger(label: "cluster-simulator-tests")
    logger.logLevel = .critical
    let simulator = ClusterSimulator(
        configuration: .init(
            nodes: nodes, token: token, permissions: permissions, replacementDelay: replacementDelay, metrics: metrics),
        lifecycle: lifecycle, logger: logger)
    try await simulator.start()
    let http = CurlMultiClient()
    // Generous: the simulator answers in-process, on threads a loaded machine shares with the
    // rest of the suite, and no verdict of these tests is about how soon a request is answered.
    let client = KubernetesClient(
        connection: try simulator.connection(), http: http, logger: logger, timeoutMilliseconds: 60_000)
    do {
        let result = try await body(RunningCluster(simulator: simulator, client: client, http: http))
        http.shutdown()
        await simulator.stop()
        return result
    } catch {
        http.shutdown()
        await simulator.stop()
        throw error
    }
}

/// The verbs per resource an RBAC Role file grants (`k8s/workflow/rbac.yaml`), as the
/// simulator's `permissions`: read from the file with a small line reader, enough for the
/// project's own manifests (`apiGroups: [...]`, then `resources: [...]` and `verbs: [...]`).
/// Resources of the core group and of `batch` are keyed by their plain names, those of other
/// groups as `RESOURCE.GROUP` (`pods.metrics.k8s.io`), as the simulator keys them.
public func rolePermissions(_ path: String) throws -> [String: Set<String>] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var permissions: [String: Set<String>] = [:]
    var groups: [String] = [""]
    var resources: [String] = []
    func list(_ line: Substring) -> [String] {
        guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return [] }
        return line[line.index(after: open)..<close].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
    }
    for line in text.split(separator: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "- "))
        if trimmed.hasPrefix("apiGroups:") { groups = list(line[...]) }
        if trimmed.hasPrefix("resources:") { resources = list(line[...]) }
        if trimmed.hasPrefix("verbs:") {
            for group in groups {
                for resource in resources {
                    let key = group.isEmpty || group == "batch" ? resource : "\(resource).\(group)"
                    permissions[key, default: []].formUnion(list(line[...]))
                }
            }
        }
    }
    return permissions
}

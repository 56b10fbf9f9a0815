import Foundation
import Logging

/// The scheduler-extender endpoints as pure functions of request body and time, for an HTTP
/// server to wrap (`POST /scheduler/prioritize`, `POST /scheduler/filter`).
///
/// * prioritize: `[{"Host":…,"Score":0...10}]`, each node's best-variant score mapped by
///   `floor((s + 5) / 10)`.
/// * filter: every node passes, except that a pod asking for a known profile fails the nodes
///   no entry of that profile serves (in `FailedAndUnresolvableNodes`, with the reason: no
///   preemption on such a node can make it pass, so the scheduler must not evict pods for it).
/// * Pods that do not opt in, that name no profile or a profile the knowledge base lacks get
///   ``neutralScore`` on every node and pass the filter everywhere: equal scores leave the
///   decision to the scheduler's other plugins. The last two cases are reported.
/// * A body that is not valid `ExtenderArgs` gets status 400 and a one-line `text/plain` reason.
///
/// Node objects (`nodeCacheCapable: false`) carry the power annotations. With only `NodeNames`
/// (`nodeCacheCapable: true`, the shipped setup) the annotations come from ``nodeView``, the
/// extender's own watch of the nodes, with the same freshness rule; a node the view lacks
/// (no view, not synced yet, a new node) is scored from the knowledge base alone, as if its
/// plug were down, and reported as ``ScoringDiagnostic/Reason/nodeNotInView``.
public struct ExtenderHandler: Sendable {
    /// The score every node gets when the pod is not scored.
    public static let neutralScore = 0
    /// The content type of successful responses.
    public static let jsonContentType = "application/json"
    /// The content type of 400 responses.
    public static let errorContentType = "text/plain; charset=utf-8"

    /// The knowledge base to score with (a server takes ``KnowledgeBaseWatcher/current`` per request).
    public var knowledgeBase: KnowledgeBase
    /// How the node power annotations are named and how old they may be.
    public var powerAnnotations: PowerAnnotations
    /// Receives the diagnostics of every call, e.g. to count them into a metric by reason.
    public var onDiagnostics: (@Sendable ([ScoringDiagnostic]) -> Void)?
    /// The extender's view of the nodes, for `NodeNames` requests; nil when it keeps none.
    public var nodeView: NodeView?
    private let scorer = EnergyScorer()
    private let logger: Logger

    /// Creates a handler.
    public init(
        knowledgeBase: KnowledgeBase,
        powerAnnotations: PowerAnnotations = PowerAnnotations(),
        nodeView: NodeView? = nil,
        logger: Logger = Logger(label: "energy-monitor.extender"),
        onDiagnostics: (@Sendable ([ScoringDiagnostic]) -> Void)? = nil
    ) {
        self.knowledgeBase = knowledgeBase
        self.powerAnnotations = powerAnnotations
        self.nodeView = nodeView
        self.logger = logger
        self.onDiagnostics = onDiagnostics
    }

    /// The content type that goes with a status this handler returned.
    public static func contentType(forStatus status: Int) -> String {
        status == 200 ? jsonContentType : errorContentType
    }

    // MARK: Wire level

    /// Handles a `prioritize` body: 200 with a `HostPriorityList`, or 400 with the reason.
    public func prioritize(body: Data, now: Date) -> (status: Int, body: Data) {
        respond(to: body) { args in
            let (priorities, diagnostics) = prioritize(args, now: now)
            report(diagnostics)
            return try encode(priorities)
        }
    }

    /// Handles a `prioritize` body given as bytes.
    public func prioritize(body: [UInt8], now: Date) -> (status: Int, body: Data) {
        prioritize(body: Data(body), now: now)
    }

    /// Handles a `filter` body: 200 with an `ExtenderFilterResult`, or 400 with the reason.
    /// Filtering needs no time: it depends on the knowledge base and node names only.
    public func filter(body: Data) -> (status: Int, body: Data) {
        respond(to: body) { args in
            let (result, diagnostics) = filter(args)
            report(diagnostics)
            return try encode(result)
        }
    }

    /// Handles a `filter` body given as bytes.
    public func filter(body: [UInt8]) -> (status: Int, body: Data) {
        filter(body: Data(body))
    }

    // MARK: Typed level

    /// Scores the candidate nodes of `args` for its pod, with the diagnostics met on the way.
    public func prioritize(_ args: ExtenderArgs, now: Date) -> (
        priorities: [HostPriority], diagnostics: [ScoringDiagnostic]
    ) {
        let nodes: [NodeSnapshot]
        var unseen: [String] = []
        if let items = args.nodes?.items {
            nodes = items.map {
                NodeSnapshot(name: $0.name, annotations: $0.metadata.annotations, reader: powerAnnotations, now: now)
            }
        } else {
            let view = nodeView?.isSynced == true ? nodeView : nil
            nodes = (args.nodeNames ?? []).map { name in
                guard let annotations = view?.annotations[name] else {
                    unseen.append(name)
                    return NodeSnapshot(name: name, power: .absent)
                }
                return NodeSnapshot(name: name, annotations: annotations, reader: powerAnnotations, now: now)
            }
        }
        let policy = args.pod.policy
        let neutral = nodes.map { HostPriority(host: $0.name, score: Self.neutralScore) }
        guard policy.optedIn else { return (neutral, []) }
        var diagnostics = policy.diagnostics + viewDiagnostics(unseen: unseen, pod: policy.podName)
        guard let profile = resolveProfile(policy, diagnostics: &diagnostics) else { return (neutral, diagnostics) }
        let result = scorer.score(profile: profile, weight: policy.weight, nodes: nodes, job: policy.podName)
        diagnostics += result.diagnostics.map { $0.forPod(policy.podName) }
        return (result.nodes.map { HostPriority(host: $0.node, score: $0.extenderScore) }, diagnostics)
    }

    /// Filters the candidate nodes of `args` for its pod; the response echoes the request's
    /// shape (objects in `Nodes`, names in `NodeNames`).
    public func filter(_ args: ExtenderArgs) -> (result: ExtenderFilterResult, diagnostics: [ScoringDiagnostic]) {
        let policy = args.pod.policy
        var diagnostics = policy.diagnostics
        var failed: [String: String] = [:]
        if policy.optedIn, let profile = resolveProfile(policy, diagnostics: &diagnostics) {
            let names = (args.nodes?.items.map(\.name) ?? []) + (args.nodeNames ?? [])
            for name in names where failed[name] == nil && profile.variants(of: name).isEmpty {
                failed[name] = "no entry of energy profile \"\(profile.name)\" serves this node"
                diagnostics.append(
                    ScoringDiagnostic(
                        reason: .unmatchedNode,
                        node: name,
                        profile: profile.name,
                        pod: policy.podName,
                        message: "no entry of profile \"\(profile.name)\" serves node \"\(name)\" "
                            + "(entries: \(KnowledgeBase.names(profile.entries.map(\.nodeName)))); node filtered out"
                    )
                )
            }
        }
        let result = ExtenderFilterResult(
            nodes: args.nodes.map { ExtenderNodeList(items: $0.items.filter { failed[$0.name] == nil }) },
            nodeNames: args.nodeNames.map { $0.filter { failed[$0] == nil } },
            failedNodes: [:],
            failedAndUnresolvableNodes: failed.isEmpty ? nil : failed
        )
        return (result, diagnostics)
    }

    // MARK: Helpers

    /// What the node view could not tell about the nodes of a `NodeNames` request: one line
    /// for a missing or unsynced view (however many nodes it concerns), else one per node.
    private func viewDiagnostics(unseen: [String], pod: String?) -> [ScoringDiagnostic] {
        guard !unseen.isEmpty else { return [] }
        guard let nodeView else {
            return [
                ScoringDiagnostic(
                    reason: .nodeNotInView, pod: pod,
                    message: "the scheduler sent node names only (nodeCacheCapable: true) and the extender keeps no "
                        + "node view: \(unseen.count) nodes scored without their power (start it with --watch-nodes)")
            ]
        }
        guard nodeView.isSynced else {
            return [
                ScoringDiagnostic(
                    reason: .nodeNotInView, pod: pod,
                    message: "the extender's node view is not synced yet\(nodeView.problem.map { " (\($0))" } ?? ""): "
                        + "\(unseen.count) nodes scored without their power")
            ]
        }
        return unseen.map {
            ScoringDiagnostic(
                reason: .nodeNotInView, node: $0, pod: pod,
                message:
                    "node \"\($0)\" is not in the extender's node view (a node just added?); scored without its power")
        }
    }

    /// The pod's profile, or nil (with a diagnostic) when it names none or an unknown one.
    private func resolveProfile(_ policy: PodPolicy, diagnostics: inout [ScoringDiagnostic]) -> Profile? {
        guard let name = policy.profile else { return nil }  // missing label: already reported
        do {
            return try knowledgeBase.profile(named: name)
        } catch {
            diagnostics.append(
                ScoringDiagnostic(
                    reason: .profileUnknown,
                    profile: name,
                    pod: policy.podName,
                    message: "\(error.description); all nodes score equally"
                )
            )
            return nil
        }
    }

    private func respond(
        to body: Data,
        _ handle: (ExtenderArgs) throws -> Data
    ) -> (status: Int, body: Data) {
        let args: ExtenderArgs
        do {
            args = try ExtenderArgs(body: body)
            guard args.nodes != nil || args.nodeNames != nil else {
                throw WireError(path: "", problem: "neither Nodes nor NodeNames given")
            }
        } catch {
            let message = "bad ExtenderArgs: \(error)"
            logger.warning("rejected extender request", metadata: ["error": .string(message)])
            return (400, Data((message + "\n").utf8))
        }
        do {
            return (200, try handle(args))
        } catch {
            // Only encoding can fail here, which no value built by this type triggers.
            logger.error("cannot encode extender response", metadata: ["error": .string("\(error)")])
            return (500, Data("cannot encode response\n".utf8))
        }
    }

    private func report(_ diagnostics: [ScoringDiagnostic]) {
        guard !diagnostics.isEmpty else { return }
        for diagnostic in diagnostics { diagnostic.log(to: logger) }
        onDiagnostics?(diagnostics)
    }

    private func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        // Sorted keys make responses reproducible; unescaped slashes keep annotation keys
        // (`energy.thesis.io/current-watts`) readable, as Go writes them.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

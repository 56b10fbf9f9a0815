import AnnotationContract
import ClusterSimulator
import CurlClient
import EnergyModel
import Foundation
import JSON
import Logging
import Scoring
import ShellySimulator
import Synchronization

import enum Workflow.SchedulerChoice
import struct Workflow.WorkflowDefinition
import enum Workflow.WorkflowLabels

/// One placement the offline cluster made: what it saw and how it chose.
public struct PlacementRecord: Sendable, Equatable {
    /// The pod.
    public var pod: String
    /// `energy` (the extender ranked the nodes) or `standard` (the default scheduler's model).
    public var scheduler: SchedulerChoice
    /// The pod's `workload-profile`.
    public var profile: String?
    /// Its weight annotation, if any.
    public var weight: String?
    /// The power annotation of each node at the time, as the extender read it (watts).
    public var annotatedWatts: [String: String]
    /// How old each node's reading was when the extender was asked, in seconds (now minus
    /// its `last-updated`): the extender uses a reading only while it is younger than the
    /// contract's 30 s, else the knowledge base's idle power.
    public var annotationAges: [String: Double] = [:]
    /// The extender's scores (0..10) by node, for the energy scheduler.
    public var extenderScores: [String: Int]
    /// The default plugins' least-allocated score (0..100) by node that fits.
    public var leastAllocated: [String: Int]
    /// The chosen node, or nil when none fits.
    public var node: String?
    /// Why the extender was not used (it failed), if it was not.
    public var extenderError: String?
}

/// A phase's run on the offline cluster: which knowledge-base entry it ran as and when.
public struct WorkloadRecord: Sendable, Equatable {
    /// The pod.
    public var pod: String
    /// The node.
    public var node: String
    /// The knowledge-base entry (`tvpc-gpu`).
    public var entry: String
    /// The draw above rest while it runs (the entry's power minus its idle), watts.
    public var extraWatts: Double
    /// Simulated seconds the work takes at the entry's rate.
    public var simulatedSeconds: Double
    /// When its containers start and end, unix seconds (whole seconds).
    public var start: Double
    /// End.
    public var finish: Double
}

/// SplitMix64: the seeded source of the schedulers' tie-breaks.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The life of the offline cluster's pods: placed by the real extender (energy scheduler) or
/// the default scheduler's model, run for the work over the knowledge base's rate, with the
/// node's plug drawing the entry's power meanwhile.
///
/// The model of the scheduler (README, "Offline runs"): nodes the pod's requests do not fit
/// are filtered out (NodeResourcesFit); each remaining node scores its least-allocated share
/// (the mean free fraction of CPU and memory after the pod, 0..100, weight 1); the energy
/// scheduler adds the extender's 0..10 scaled to 0..100 times the extender weight 5 of
/// `k8s/scheduler/scheduler-config.yaml`, after the extender's own filter. The highest total
/// wins; equal totals are broken by a seeded random choice, as kube-scheduler picks at random
/// among equal scores.
final class OfflineScheduling: PodLifecycle {
    /// The energy scheduler's `schedulerName`.
    static let energySchedulerName = WorkloadContract.energySchedulerName
    /// The extender's weight in the scheduler configuration.
    static let extenderWeight = 5

    let nodes: [String: OfflineNode]
    let knowledgeBase: KnowledgeBase
    let workflow: WorkflowDefinition
    let timeScale: Double
    /// The extender's base URL, once it listens.
    private let extender = Mutex<String?>(nil)
    let http: CurlMultiClient
    let plugs: ShellySimulator
    private let cluster = Mutex<ClusterSimulator?>(nil)
    private let random: Mutex<SeededGenerator>
    private let placementRecords = Mutex<[PlacementRecord]>([])
    private let workloadRecords = Mutex<[WorkloadRecord]>([])
    /// When each node's latest workload load ends (unix seconds).
    private let loadEnds = Mutex<[String: Double]>([:])
    /// Shared nodes (per-pod energy): pods load the CPU, the plug draws per core.
    let shared: SharedNodes?
    /// How long each extender call may take before the pod is placed without it.
    let extenderTimeoutMilliseconds: Int
    /// Where a placement made without the extender is reported.
    let logger: Logger

    init(
        nodes: [OfflineNode], knowledgeBase: KnowledgeBase, workflow: WorkflowDefinition, timeScale: Double,
        http: CurlMultiClient, plugs: ShellySimulator, seed: UInt64, shared: SharedNodes? = nil,
        extenderTimeoutMilliseconds: Int = 5000, logger: Logger = Logger(label: "offline-scheduler")
    ) {
        self.logger = logger
        self.shared = shared
        self.extenderTimeoutMilliseconds = extenderTimeoutMilliseconds
        self.nodes = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.knowledgeBase = knowledgeBase
        self.workflow = workflow
        self.timeScale = timeScale
        self.http = http
        self.plugs = plugs
        self.random = Mutex(SeededGenerator(state: seed))
    }

    func attach(_ simulator: ClusterSimulator) { cluster.withLock { $0 = simulator } }

    /// The extender to ask, once it listens (the energy scheduler's placements wait for it).
    func attachExtender(url: String) { extender.withLock { $0 = url } }

    /// A node's workloads stopped at `time` (the node was removed).
    func loadsEnded(node: String, at time: Double) {
        loadEnds.withLock { ends in
            if let end = ends[node], end > time { ends[node] = time }
        }
    }

    var placements: [PlacementRecord] { placementRecords.withLock { $0 } }
    var workloads: [WorkloadRecord] { workloadRecords.withLock { $0 } }

    // MARK: - Placement

    func placement(of pod: PodInfo) async -> PodPlacement {
        guard let cluster = cluster.withLock({ $0 }) else { return .unschedulable(message: "no cluster") }
        if let node = pod.labels[SharedNodes.backgroundNodeLabel] { return .node(node) }
        var present = await cluster.nodes()
        if let required = pod.requiredNodeNames {
            guard let node = required.first(where: { name in present.contains { $0.name == name } }) else {
                return .unschedulable(
                    message:
                        "0/\(present.count) nodes are available: \(present.count) node(s) didn't match Pod's node affinity/selector"
                )
            }
            return .node(node)
        }
        let choice: SchedulerChoice = pod.schedulerName == Self.energySchedulerName ? .energy : .standard
        if choice == .energy { present = await nodesReportedSinceLoadsEnded(cluster, present) }
        let usage = Self.usage(of: await cluster.pods())
        let request = Self.requests(of: pod.spec)
        var fitting: [String: Int] = [:]
        for node in present {
            guard let capacity = nodes[node.name] else { continue }
            let used = usage[node.name] ?? (0, 0)
            let freeCPU = capacity.cpuMillicores - used.cpu - request.cpu
            let freeMemory = capacity.memoryBytes - used.memory - request.memory
            guard freeCPU >= 0, freeMemory >= 0 else { continue }
            let cpuShare: Double = Double(freeCPU) / Double(max(1, capacity.cpuMillicores))
            let memoryShare: Double = Double(freeMemory) / Double(max(1, capacity.memoryBytes))
            let share = (cpuShare + memoryShare) / 2
            fitting[node.name] = Int(clampingRounding: share * 100, .down)
        }
        var record = PlacementRecord(
            pod: pod.name, scheduler: choice, profile: pod.labels[WorkloadContract.profileLabel],
            weight: pod.annotations[WorkloadContract.weightAnnotation],
            annotatedWatts: Dictionary(
                present.compactMap { node in
                    node.annotations[PowerAnnotationContract().wattsKey].map { (node.name, $0) }
                },
                uniquingKeysWith: { first, _ in first }),
            extenderScores: [:], leastAllocated: fitting, node: nil, extenderError: nil)
        var totals = fitting
        if choice == .energy, !fitting.isEmpty {
            let candidates = present.filter { fitting[$0.name] != nil }
            let now = Date().timeIntervalSince1970
            for node in candidates {
                if let updated = node.annotations[PowerAnnotationContract().lastUpdatedKey].flatMap(Double.init) {
                    record.annotationAges[node.name] = now - updated
                }
            }
            do {
                let scores = try await extenderScores(pod: pod, nodes: candidates)
                record.extenderScores = scores
                totals = totals.filter { scores[$0.key] != nil }
                for (node, score) in scores where totals[node] != nil {
                    totals[node, default: 0] += score * 10 * Self.extenderWeight
                }
            } catch {
                // The extender is ignorable: the pod is placed without it, and said so (the
                // run's placements then do not show the energy scheduler's choice).
                record.extenderError = "\(error)"
                logger.warning(
                    "placed without the extender's scores",
                    metadata: ["pod": "\(pod.name)", "error": "\(error)"])
            }
        }
        guard let best = totals.values.max() else {
            placementRecords.withLock { $0.append(record) }
            return .unschedulable(
                message: "0/\(present.count) nodes are available: \(present.count) Insufficient cpu or memory")
        }
        let tied = totals.filter { $0.value == best }.map(\.key).sorted()
        let node = random.withLock { generator in tied.randomElement(using: &generator) } ?? tied[0]
        record.node = node
        placementRecords.withLock { $0.append(record) }
        return .node(node)
    }

    /// The nodes once the monitor has annotated each with a reading taken after the load of
    /// its latest workload ended (at most 8 s): so the energy scheduler never ranks a node by
    /// the watts of a phase that has just finished, however the next pod's creation races the
    /// monitor's next tick. (On a real cluster the wait between phases does this.)
    private func nodesReportedSinceLoadsEnded(_ cluster: ClusterSimulator, _ present: [SimulatedNode]) async
        -> [SimulatedNode]
    {
        let key = PowerAnnotationContract().lastUpdatedKey
        var current = present
        let deadline = ContinuousClock.now + .seconds(8)
        while ContinuousClock.now < deadline {
            let now = Date().timeIntervalSince1970
            let ends = loadEnds.withLock { $0 }
            let waiting = current.contains { node in
                guard let end = ends[node.name], end <= now else { return false }
                let updated = node.annotations[key].flatMap(Double.init) ?? 0
                return updated < end.rounded(.up)
            }
            if !waiting { return current }
            try? await Task.sleep(for: .milliseconds(100))
            current = await cluster.nodes()
        }
        return current
    }

    /// The extender's filter, then its prioritize answer for what passed, over HTTP as the
    /// scheduler asks it.
    private func extenderScores(pod: PodInfo, nodes: [SimulatedNode]) async throws -> [String: Int] {
        let podObject: JSONValue = [
            "metadata": [
                "name": .string(pod.name), "namespace": .string(pod.namespace),
                "labels": .object(pod.labels.mapValues { .string($0) }),
                "annotations": .object(pod.annotations.mapValues { .string($0) }),
            ],
            "spec": pod.spec,
        ]
        func arguments(_ nodes: [JSONValue]) -> [UInt8] {
            let object: JSONValue = ["Pod": podObject, "Nodes": ["items": .array(nodes)]]
            return object.serialized
        }
        let objects: [JSONValue] = nodes.map { node in
            [
                "metadata": [
                    "name": .string(node.name), "labels": .object(node.labels.mapValues { .string($0) }),
                    "annotations": .object(node.annotations.mapValues { .string($0) }),
                ]
            ]
        }
        let filtered = try await post("filter", arguments(objects))
        let passed = filtered["Nodes"]?["items"]?.array ?? []
        guard !passed.isEmpty else { return [:] }
        let prioritized = try await post("prioritize", arguments(passed))
        var scores: [String: Int] = [:]
        for entry in prioritized.array ?? [] {
            guard let host = entry["Host"]?.string, let score = entry["Score"]?.integer, let value = Int(exactly: score)
            else { continue }
            scores[host] = value
        }
        return scores
    }

    private func post(_ verb: String, _ body: [UInt8]) async throws -> JSONValue {
        guard let extenderURL = extender.withLock({ $0 }) else {
            throw OfflineClusterError("extender \(verb): the extender does not listen yet")
        }
        let response = try await http.perform(
            HTTPRequest(
                url: "\(extenderURL)/scheduler/\(verb)", method: "POST", headers: ["Content-Type: application/json"],
                body: body, timeoutMilliseconds: extenderTimeoutMilliseconds))
        guard response.status == 200, let value = JSONValue.parse(response.body) else {
            throw OfflineClusterError("extender \(verb): HTTP \(response.status)")
        }
        return value
    }

    /// CPU and memory requested by the unfinished pods on each node.
    static func usage(of pods: [SimulatedPod]) -> [String: (cpu: Int64, memory: Int64)] {
        var usage: [String: (cpu: Int64, memory: Int64)] = [:]
        for pod in pods where !pod.isFinished {
            guard let node = pod.nodeName else { continue }
            let request = requests(of: .object(pod.spec))
            usage[node, default: (0, 0)].cpu += request.cpu
            usage[node, default: (0, 0)].memory += request.memory
        }
        return usage
    }

    /// The sum of the containers' requests (a limit stands in for a missing request, as the
    /// API server defaults it).
    static func requests(of spec: JSONValue) -> (cpu: Int64, memory: Int64) {
        var cpu: Int64 = 0
        var memory: Int64 = 0
        for container in spec["containers"]?.array ?? [] {
            let resources = container["resources"]
            let requests = resources?["requests"]
            let limits = resources?["limits"]
            if let text = requests?["cpu"]?.string ?? limits?["cpu"]?.string,
                let value = ResourceQuantity.millicores(text)
            {
                cpu = cpu.addingReportingOverflow(value).overflow ? .max : cpu + value
            }
            if let text = requests?["memory"]?.string ?? limits?["memory"]?.string,
                let value = ResourceQuantity.bytes(text)
            {
                memory = memory.addingReportingOverflow(value).overflow ? .max : memory + value
            }
        }
        return (cpu, memory)
    }

    /// Whether the pod asks for a GPU.
    static func wantsGPU(_ spec: JSONValue) -> Bool {
        (spec["containers"]?.array ?? []).contains { container in
            let resources = container["resources"]
            return resources?["limits"]?["nvidia.com/gpu"] != nil || resources?["requests"]?["nvidia.com/gpu"] != nil
        }
    }

    // MARK: - Running

    func run(of pod: PodInfo, on node: String) async -> PodRun {
        // The placement probe: the pause container, until the runner deletes it.
        if pod.labels[WorkflowLabels.probe] == "true" { return PodRun(startDelay: .milliseconds(100), duration: nil) }
        if let shared, pod.labels[SharedNodes.backgroundNodeLabel] != nil {
            return await background(pod, on: node, shared)
        }
        guard let phaseName = pod.labels[WorkflowLabels.phase],
            let phase = workflow.phases.first(where: { $0.name == phaseName }), let work = phase.work
        else {
            return PodRun(startDelay: .milliseconds(100), duration: .seconds(1), outcome: .fail(exitCode: 2))
        }
        guard let profile = try? knowledgeBase.profile(named: phase.profile),
            let entry = OfflineNode.entry(of: profile, node: node, wantsGPU: Self.wantsGPU(pod.spec)),
            let simulated = work.seconds(atRate: entry.performanceRate)
        else {
            // No entry serves the node (the default scheduler put it there): the workload
            // cannot run on this hardware.
            return PodRun(startDelay: .milliseconds(100), duration: .seconds(1), outcome: .fail(exitCode: 132))
        }
        // Whole real seconds, starting on a second boundary: the container times the API
        // writes (whole seconds) and the monitor's samples (on each second) then bound the same
        // window the plug drew the load in.
        let realSeconds = min(30 * 86_400, max(1, (simulated / timeScale).rounded()))
        let now = Date().timeIntervalSince1970
        let start = (now + 0.2).rounded(.up)
        let finish = start + realSeconds
        let extra = max(0, entry.powerConsumptionWatts - entry.idlePowerWatts)
        // The monitor reads each plug shortly after each second, never before it (and up to
        // most of a second late on a loaded machine), and a window's edge is interpolated
        // between the readings on either side of it: on from 1.2 s before the start, so that
        // the reading of the second before already sees the load (a reading at rest there
        // would cost the window about L·δ²/2 for a first reading δ s late), until just before
        // the second after the end, so that the window's last reading sees the load however
        // late it comes.
        if let shared {
            // Shared nodes: the load is the pod's CPU, which counts while its container runs,
            // and the plug draws it over exactly that time.
            plugs.plug(of: node)?.addLoad(.init(watts: extra, from: start, to: finish))
            if let cluster = cluster.withLock({ $0 }) {
                await cluster.setCPULoad(
                    pod: pod.name, namespace: pod.namespace, cores: extra / shared.wattsPerCore,
                    fromMilliseconds: Int64(clampingRounding: start * 1000))
            }
        } else {
            plugs.plug(of: node)?.addLoad(.init(watts: extra, from: start - 1.2, to: finish + 0.98))
        }
        loadEnds.withLock { $0[node] = max($0[node] ?? 0, finish + 0.98) }
        workloadRecords.withLock {
            $0.append(
                WorkloadRecord(
                    pod: pod.name, node: node, entry: entry.nodeName, extraWatts: extra, simulatedSeconds: simulated,
                    start: start, finish: finish))
        }
        // The container times the kubelet reports: exactly the load's window, however late the
        // simulator gets to the pod on a busy machine.
        let startMilliseconds = Int64(clampingRounding: start * 1000)
        return PodRun(
            startMilliseconds: startMilliseconds,
            finishMilliseconds: startMilliseconds + Int64(clampingRounding: realSeconds * 1000))
    }

    /// A background pod: its cores on its node's CPU and plug from the next second on, until
    /// the cluster stops.
    private func background(_ pod: PodInfo, on node: String, _ shared: SharedNodes) async -> PodRun {
        let cores = Double(pod.labels[SharedNodes.backgroundCoresLabel] ?? "") ?? 0
        let start = (Date().timeIntervalSince1970 + 0.2).rounded(.up)
        plugs.plug(of: node)?.addLoad(
            .init(watts: cores * shared.wattsPerCore, from: start, to: start + 30 * 86_400))
        if let cluster = cluster.withLock({ $0 }) {
            await cluster.setCPULoad(
                pod: pod.name, namespace: pod.namespace, cores: cores,
                fromMilliseconds: Int64(clampingRounding: start * 1000))
        }
        let startMilliseconds = Int64(clampingRounding: start * 1000)
        var run = PodRun(startMilliseconds: startMilliseconds, finishMilliseconds: startMilliseconds)
        run.duration = nil
        run.containerTimes = nil
        return run
    }
}

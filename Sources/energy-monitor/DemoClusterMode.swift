import Foundation
import Logging
import Scoring
import Synchronization
import UserInput
import Workflow
import WorkflowSimulation

/// `demo --cluster`: the reference cluster offline (plugs, monitor, API stand-in, extender)
/// running the thesis workflow in a loop, the energy scheduler at each weight in turn and the
/// default scheduler after each round; every phase's placement and joules on the dashboard.
struct DemoClusterMode {
    let listen: ListenAddress
    let databasePath: String
    let folder: URL
    /// nil: the built-in one.
    let knowledgeBase: String?
    /// nil: the built-in one.
    let workflow: String?
    let timeScale: Double
    let weights: [Double]
    let duration: Duration?

    /// The reference cluster's hardware (tvpc: i5 with a GTX 1060, 16 GiB; wyse: Celeron J4105,
    /// 8 GiB; rpi: Raspberry Pi 2B, 1 GiB) and wyse's draw at rest as the thesis's decisions
    /// record it while it measured (10.8 W: it was the master, running the control plane).
    static let referenceCapacities: [String: (cpuMillicores: Int64, memoryBytes: Int64)] = [
        "tvpc": (8000, 16 << 30), "wyse": (4000, 8 << 30), "rpi": (4000, 1 << 30),
    ]
    static let referenceRestingWatts: [String: Double] = ["wyse": 10.8]

    func run() async throws {
        let definition: WorkflowDefinition
        do {
            definition =
                try workflow.map { try WorkflowDefinition(contentsOfFile: $0) } ?? BuiltInDefaults.thesisWorkflow()
        } catch {
            throw CommandFailure("--workflow: \(error)")
        }
        let knowledge: KnowledgeBase
        do {
            knowledge =
                try knowledgeBase.map { try KnowledgeBase(contentsOfFile: $0) } ?? BuiltInDefaults.knowledgeBase()
        } catch {
            throw CommandFailure("--knowledge-base: \(error)")
        }
        let nodes = Set(OfflineNode.nodes(of: knowledge).map(\.name))
        let feed = PhaseFeed()
        let offline: OfflineCluster
        do {
            offline = try await OfflineCluster.start(
                .init(
                    knowledgeBasePath: knowledgeBase, workflow: definition, timeScale: timeScale,
                    restingWatts: Self.referenceRestingWatts.filter { nodes.contains($0.key) },
                    capacities: Self.referenceCapacities.filter { nodes.contains($0.key) },
                    databasePath: databasePath, monitorListen: listen, routes: [feed.route]),
                logger: CommandSupport.logger)
        } catch {
            throw CommandFailure("\(error)")
        }
        let results = folder.appendingPathComponent("results.csv").path
        let base = "http://\(listen.reachableHost):\(listen.port)"
        Console.write(
            """
            energy-monitor demo --cluster: the thesis workflow on an offline cluster of \(offline.nodes.map(\.name).joined(separator: ", "))
              (simulated plugs, the monitor annotating the nodes, a Kubernetes API stand-in, the extender placing pods),
              energy scheduler at weights \(weights.map(WorkflowRun.weightText).joined(separator: ", ")) in turn, the default scheduler after each round;
              time scale \(WorkflowRun.weightText(timeScale)) (a real second stands for \(WorkflowRun.weightText(timeScale)) simulated ones)
              dashboard \(base)/  (placements under "Workflow placements")
              results   \(results)  (energy-monitor workflow report \(results) --html report.html)
            Ctrl-C to stop.
            """)
        let energy: any EnergySource
        do { energy = try await offline.energy() } catch {
            await offline.stop()
            throw CommandFailure("\(error)")
        }
        let runNumber = Mutex(0)
        let runner = WorkflowRunner(
            configuration: .init(
                workflow: definition, settleMilliseconds: 1500, knowledgeBase: knowledge, timeScale: timeScale,
                simulated: true),
            cluster: offline.cluster, energy: energy
        ) { progress in
            switch progress {
            case .runStarted(_, let scheduler, let weight, _, _):
                let number = runNumber.withLock { $0 }
                feed.setCurrent(
                    "run \(number): \(scheduler.rawValue)"
                        + (scheduler == .energy ? ", weight \(WorkflowRun.weightText(weight))" : ""))
            case .placed(let phase, let node, _, _):
                let number = runNumber.withLock { $0 }
                feed.setCurrent("run \(number): \(phase) on \(node)")
            default:
                break
            }
            WorkflowOptions.say(progress.description)
        }
        let plan: [(SchedulerChoice, Double)] = weights.map { (.energy, $0) } + [(.standard, weights.first ?? 0)]
        let loop = Task { () async throws -> Void in
            var index = 0
            while !Task.isCancelled {
                let (scheduler, weight) = plan[index % plan.count]
                index += 1
                let number = runNumber.withLock { value -> Int in
                    value += 1
                    return value
                }
                do {
                    _ = try await runner.run(scheduler: scheduler, weight: weight) { row in
                        try ResultFile.append(row, to: results)
                        feed.add(
                            PhaseRecord(
                                timestamp: row.timestamp, run: number, phase: row.phase,
                                scheduler: row.scheduler?.rawValue ?? "",
                                weight: scheduler == .energy ? row.weight : nil, node: row.node,
                                durationSeconds: row.durationSeconds, joules: row.joules,
                                averageWatts: row.averageWatts,
                                simulated: row.simulated))
                    }
                } catch {
                    if Task.isCancelled { break }
                    WorkflowOptions.say("run \(number) failed: \(error)")
                    try? await Task.sleep(for: .seconds(2))
                }
            }
            feed.setCurrent(nil)
        }
        let signals = SignalCancellation(task: loop)
        if let duration {
            Task {
                try? await Task.sleep(for: duration)
                loop.cancel()
            }
        }
        try? await loop.value
        signals.cancel()
        await offline.stop()
    }
}

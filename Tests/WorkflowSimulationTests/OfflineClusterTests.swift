import ClusterSimulator
import Foundation
import Logging
import Scoring
import Synchronization
import TestSupport
import Testing
import Workflow

@testable import WorkflowSimulation

/// The score the contract's formula (DESIGN, "Scoring") gives `node` at `live` watts, written
/// out here on its own so that the extender's answers are checked against something else than
/// the scoring library they come from: the extender's 0..10.
func contractScore(_ profile: Profile, node: String, live: Double?, weight: Double) -> Int? {
    let maxP = profile.entries.map(\.performanceRate).max() ?? 1
    let maxE =
        profile.entries.map { $0.performanceRate / ($0.powerConsumptionWatts > 0 ? $0.powerConsumptionWatts : 1) }.max()
        ?? 1
    var best: Double?
    for entry in profile.entries where entry.nodeName.contains(node) {
        var delta = entry.powerConsumptionWatts - entry.idlePowerWatts
        if delta <= 0 { delta = 1 }
        let projected = live.map { $0 + delta } ?? entry.powerConsumptionWatts
        var penalty = 1.0
        if let live, live > max(1.2 * entry.idlePowerWatts, entry.idlePowerWatts + 2) {
            penalty = 1 / (1 + 0.5 * max(0, (live - entry.idlePowerWatts) / delta))
        }
        let perf = entry.performanceRate * penalty
        let eff = perf / max(projected, 1)
        let normPerf = min(100, 100 * perf / (maxP == 0 ? 1 : maxP))
        let normEff = min(100, 100 * eff / (maxE == 0 ? 1 : maxE))
        let score = weight * normPerf + (1 - weight) * normEff
        best = max(best ?? score, score)
    }
    guard let best else { return nil }
    let truncated = Int(best.rounded(.towardZero))
    return (truncated + 5) / 10
}

/// Runs `body` with an offline cluster of the repository's knowledge base and stops it.
func withOfflineCluster<T: Sendable>(
    workflow: WorkflowDefinition, timeScale: Double, restingWatts: [String: Double] = [:],
    capacities: [String: (cpuMillicores: Int64, memoryBytes: Int64)] = [:],
    _ body: (OfflineCluster, TemporaryDirectory) async throws -> T
) async throws -> T {
    let folder = try TemporaryDirectory("offline")
    var logger = Logger(label: "offline-tests")
    logger.logLevel = .critical
    let offline = try await OfflineCluster.start(
        .init(
            knowledgeBasePath: TestPaths.knowledgeBaseManifest, workflow: workflow, timeScale: timeScale,
            // A name YAML would misread unquoted: the monitor's configuration must carry it whole.
            restingWatts: restingWatts, capacities: capacities, databasePath: folder.path("energy #1: \"a\" b.db"),
            // No verdict here is about how soon the extender answers, and one that answers
            // after the shipped 5 s (a loaded machine) would place the pod without energy
            // scoring, as an ignorable extender is treated.
            extenderTimeoutMilliseconds: 60_000),
        logger: logger)
    do {
        let result = try await body(offline, folder)
        await offline.stop()
        return result
    } catch {
        await offline.stop()
        throw error
    }
}

/// Lines the runner reports, kept.
final class ProgressLines: Sendable {
    let lines = Mutex<[String]>([])
    func add(_ progress: WorkflowProgress) { lines.withLock { $0.append(progress.description) } }
}

@Suite("Offline cluster", .serialized)
struct OfflineClusterTests {
    /// The phases' timeout in these tests, simulated: the workflow's 30 minutes are one real
    /// minute at scale 30, and a machine busy with the rest of the suite can take that long
    /// to place, run and report a 26-second phase. No verdict here is about the timeout.
    static let generousPhaseTimeout: Int64 = 8 * 3_600_000

    static let thesisWorkflowPath = TestPaths.packageRoot.appendingPathComponent("workflows/thesis-workflow.yaml")
        .path
    /// The reference cluster's hardware and, for wyse, the watts the thesis's decisions record
    /// while it measured (10.8 W: the master's own load).
    static let thesisCapacities: [String: (cpuMillicores: Int64, memoryBytes: Int64)] = [
        "tvpc": (8000, 16 << 30), "wyse": (4000, 8 << 30), "rpi": (4000, 1 << 30),
    ]

    @Test(
        "weights 0 and 1: every placement as the contract's formula ranks the nodes; weight 0 puts the thesis's phases on rpi, tvpc, tvpc; joules per row within 1 % (and the plug's 0.1 W) of the plugs' ground truth"
    )
    func thesisLoop() async throws {
        let workflow = try WorkflowDefinition(contentsOfFile: Self.thesisWorkflowPath)
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.knowledgeBaseManifest)
        // 30: every phase lasts at least two real seconds, so that one late reading on a loaded
        // machine is not the whole window.
        let scale = 30.0
        try await withOfflineCluster(
            workflow: workflow, timeScale: scale, restingWatts: ["wyse": 10.8], capacities: Self.thesisCapacities
        ) { offline, _ in
            let runner = WorkflowRunner(
                configuration: .init(
                    workflow: workflow, phaseTimeoutMilliseconds: Self.generousPhaseTimeout, settleMilliseconds: 1500,
                    knowledgeBase: knowledgeBase, timeScale: scale, simulated: true),
                cluster: offline.cluster, energy: try await offline.energy())
            let atZero = try await runner.run(scheduler: .energy, weight: 0)
            let atOne = try await runner.run(scheduler: .energy, weight: 1)
            let standard = try await runner.run(scheduler: .standard, weight: 0)

            // Where the thesis measured its weight-0 runs (thesis_results.csv), from live
            // readings: a placement that saw a reading older than the contract's 30 s (the
            // monitor starved on an overloaded machine) ranked that node by its idle power
            // instead, which the formula check below holds it to.
            let stale = offline.placements.filter { placement in
                placement.annotationAges.values.contains { $0 >= PowerAnnotations.defaultMaxAge - 1 }
            }
            if stale.isEmpty {
                #expect(atZero.map(\.node) == ["rpi", "tvpc", "tvpc"])
            } else {
                print("offline placements with a stale reading: \(stale.map { "\($0.pod) \($0.annotationAges)" })")
            }
            // ... and performance first: tvpc's CPU hashes fastest, its GPU trains and infers.
            #expect(atOne.map(\.node) == ["tvpc", "tvpc", "tvpc"])
            // The default scheduler's model: least allocated, tvpc being the largest node.
            #expect(standard.map(\.node) == ["tvpc", "tvpc", "tvpc"])
            #expect((atZero + atOne + standard).allSatisfy { $0.simulated })

            // Every energy placement: the extender's scores are the formula's at the watts the
            // nodes were annotated with, and the node chosen has the best total.
            let energy = offline.placements.filter { $0.scheduler == .energy }
            #expect(energy.count == 6)
            for placement in energy {
                #expect(placement.extenderError == nil, "\(placement.pod): \(placement.extenderError ?? "")")
                let profile = try knowledgeBase.profile(named: try #require(placement.profile))
                let weight = try #require(placement.weight.flatMap(Double.init))
                for (node, score) in placement.extenderScores {
                    // The contract: a reading counts while younger than 30 s, else the
                    // knowledge base's idle power (one the monitor left unrefreshed that long
                    // on an overloaded machine). Within a second of the limit either is right.
                    let age = placement.annotationAges[node] ?? .infinity
                    guard abs(age - PowerAnnotations.defaultMaxAge) > 1 else { continue }
                    let live =
                        age < PowerAnnotations.defaultMaxAge ? placement.annotatedWatts[node].flatMap(Double.init) : nil
                    #expect(
                        contractScore(profile, node: node, live: live, weight: weight) == score,
                        "\(placement.pod) \(node) at \(placement.annotatedWatts[node] ?? "-") W, \(age) s old")
                }
                let totals = placement.extenderScores.compactMap { node, score in
                    placement.leastAllocated[node].map { (node, score * 50 + $0) }
                }
                let best = totals.map(\.1).max()
                #expect(totals.first { $0.0 == placement.node }?.1 == best, "\(placement)")
            }

            // Durations in simulated seconds: the work over the entry's rate (rpi's), to a real
            // second.
            if stale.isEmpty {
                #expect(abs(atZero[0].durationSeconds - 781) <= scale / 2 + 1, "\(atZero[0].durationSeconds)")
            }
            // Joules per row against the exact integral of the plug's power over the window.
            let runs = offline.workloads
            #expect(runs.count == 9)
            for (row, run) in zip(atZero + atOne + standard, runs) {
                #expect(row.node == run.node)
                let truth =
                    try #require(
                        offline.groundTruthJoules(
                            node: run.node, fromMilliseconds: Int64(run.start * 1000),
                            toMilliseconds: Int64(run.finish * 1000))) * scale
                let error = (row.joules - truth) / truth * 100
                let coverage = row.coveragePercent ?? 0
                print(
                    "offline \(row.phase) on \(row.node) (\(run.entry)): \(Int(row.durationSeconds)) s, \(String(format: "%.2f", row.joules)) J, truth \(String(format: "%.2f", truth)) J, error \(String(format: "%.3f", error)) %, coverage \(String(format: "%.1f", coverage)) %"
                )
                #expect(row.durationSeconds == (run.finish - run.start) * scale)
                // 1 %, plus what the plug's 0.1 W resolution can hide (the apower it reports):
                // 0.05 W over the window, which matters for rpi's 2.8 W.
                if coverage >= 99.5 {
                    let allowed = 0.01 * truth + 0.05 * (run.finish - run.start) * scale
                    #expect(abs(row.joules - truth) <= allowed, "\(row.phase) on \(row.node): \(error) %")
                } else {
                    // Polls lost on an overloaded machine leave gaps, which the row reports as its
                    // coverage; the covered time's mean power is still the plug's.
                    let truthWatts = truth / ((run.finish - run.start) * scale)
                    let watts = try #require(row.averageWatts)
                    #expect(
                        abs(watts - truthWatts) <= 0.01 * truthWatts + 0.05, "\(row.phase) on \(row.node): \(watts) W")
                    #expect(coverage >= 50, "\(row.phase) on \(row.node): \(coverage) % covered")
                }
            }
        }
    }

    @Test(
        "the scores behind the placements agree with the thesis's 284 decisions at the same live watts",
        .enabled(if: TestPaths.thesisTestsEnabled, "../shared/thesis is absent")
    )
    func agreesWithThesisDecisions() async throws {
        // The thesis's decisions, by node, weight and profile, with the live watts they saw.
        let text = try String(
            contentsOf: TestPaths.thesis.appendingPathComponent("thesis_simulation_data.csv"), encoding: .utf8)
        struct Decision {
            var job: String, node: String, weight: Double, live: Double, score: Int
        }
        var decisions: [Decision] = []
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let fields = line.split(separator: ";").map(String.init)
            guard fields.count == 12, let weight = Double(fields[3]), let live = Double(fields[4]),
                let score = Int(fields[11])
            else { continue }
            decisions.append(Decision(job: fields[0], node: fields[1], weight: weight, live: live, score: score))
        }
        #expect(decisions.count == 284)
        func profile(ofJob job: String) -> String? {
            ["ml-preprocessing-job-": "sequential", "ml-train-job-": "training", "ml-inference-job-": "inference"]
                .first { job.hasPrefix($0.key) }?.value
        }
        let workflow = try WorkflowDefinition(contentsOfFile: Self.thesisWorkflowPath)
        let scale = 120.0
        let placements = try await withOfflineCluster(
            workflow: workflow, timeScale: scale, restingWatts: ["wyse": 10.8], capacities: Self.thesisCapacities
        ) { offline, _ in
            let runner = WorkflowRunner(
                configuration: .init(
                    workflow: workflow, phaseTimeoutMilliseconds: Self.generousPhaseTimeout, settleMilliseconds: 1000,
                    timeScale: scale, simulated: true),
                cluster: offline.cluster, energy: try await offline.energy())
            _ = try await runner.run(scheduler: .energy, weight: 0)
            return offline.placements
        }
        var compared = 0
        for placement in placements {
            guard let weight = placement.weight.flatMap(Double.init) else { continue }
            for (node, score) in placement.extenderScores {
                guard let watts = placement.annotatedWatts[node].flatMap(Double.init) else { continue }
                let thesisNode = node == "wyse" ? "dgoh-wyze" : node
                // A node's score depends on its own live watts only: the thesis's decision for
                // the same node, profile and weight at watts within 0.3 W scores the same.
                let same = decisions.filter {
                    $0.node == thesisNode && $0.weight == weight && profile(ofJob: $0.job) == placement.profile
                        && abs($0.live - watts) <= 0.3
                }
                let byJob = Dictionary(grouping: same, by: \.job).mapValues { $0.map(\.score).max() ?? 0 }
                for (job, thesisScore) in byJob {
                    #expect((thesisScore + 5) / 10 == score, "\(placement.pod) \(node) \(watts) W vs \(job)")
                    compared += 1
                }
            }
        }
        print("offline placements compared with thesis decisions: \(compared)")
        #expect(compared >= 3)
    }

    /// A one-phase workflow on wyse (preprocessing scores best there at weight 0 when wyse is
    /// idle): `seconds` of work at scale 1.
    static func wyseWorkflow(seconds: Double) throws -> WorkflowDefinition {
        try WorkflowDefinition(
            yaml: """
                name: vanish
                namespace: default
                nodes: { tvpc: [amd64], wyse: [amd64], rpi: [armv7] }
                phases:
                  - name: hash
                    profile: sequential
                    image: registry.example.lan/hash:1
                    timeout: 10m
                    work: { units: \(741.07 * seconds * 1000), ratePer: 1ms }
                """, file: "vanish.yaml")
    }

    /// Starts the one-phase workflow of `seconds` at scale 1 and runs `body` once its pod runs
    /// on wyse, with the run's task.
    static func whileRunningOnWyse(
        seconds: Double, _ body: (OfflineCluster, Task<[ResultRow], any Error>) async throws -> Void
    ) async throws {
        let workflow = try Self.wyseWorkflow(seconds: seconds)
        try await withOfflineCluster(workflow: workflow, timeScale: 1) { offline, _ in
            let runner = WorkflowRunner(
                configuration: .init(workflow: workflow, settleMilliseconds: 1000, simulated: true),
                cluster: offline.cluster, energy: try await offline.energy())
            let run = Task { try await runner.run(scheduler: .energy, weight: 0) }
            let started = await eventually(within: .seconds(30)) {
                await offline.simulator.pods().contains { $0.nodeName == "wyse" && $0.phase == .running }
            }
            try #require(started, "the phase did not start on wyse")
            try await body(offline, run)
        }
    }

    @Test("a node removed while its phase runs: the phase is reported failed (NodeLost) at once, not waited for")
    func nodeRemoved() async throws {
        try await Self.whileRunningOnWyse(seconds: 300) { offline, run in
            let removed = ContinuousClock.now
            try await offline.removeNode("wyse")
            let outcome = await withTaskGroup(of: Result<[ResultRow], any Error>?.self) { group in
                group.addTask {
                    do { return .success(try await run.value) } catch { return .failure(error) }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(30))
                    return nil
                }
                defer { group.cancelAll() }
                return await group.next() ?? nil
            }
            let waited = ContinuousClock.now - removed
            guard case .failure(let error)? = outcome else {
                run.cancel()
                Issue.record("the run did not end within 30 s of the node's removal: \(String(describing: outcome))")
                return
            }
            print("node removed: reported after \(waited): \(error)")
            #expect("\(error)".contains("NodeLost"))
            #expect("\(error)".contains("wyse"))
            // The run's Job is cleaned up.
            #expect(await offline.simulator.jobs().isEmpty)
        }
    }

    @Test("a plug that dies while its phase runs: the row comes with the coverage the monitor had, not a hang")
    func plugDead() async throws {
        try await Self.whileRunningOnWyse(seconds: 10) { offline, run in
            try await Task.sleep(for: .seconds(3))
            await offline.disconnectPlug("wyse")
            let rows = try await withTimeout(.seconds(60), "the run to end") { try await run.value }
            let row = try #require(rows.first)
            print("plug dead: \(row.fields.joined(separator: ","))")
            #expect(row.node == "wyse")
            #expect((row.coveragePercent ?? 100) < 80)
            #expect((row.coveragePercent ?? 0) > 0)
        }
    }
}

import AnnotationContract
import CurlClient
import Foundation
import JSON
import Logging
import Scoring
import ShellySimulator
import TestSupport
import Testing
import Workflow

@testable import ClusterSimulator
@testable import WorkflowSimulation

@Suite("Offline cluster parts")
struct OfflinePartsTests {
    @Test("the knowledge base's entries name the nodes; each rests at its lowest idle power")
    func nodesFromKnowledgeBase() throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.knowledgeBaseManifest)
        let nodes = OfflineNode.nodes(of: knowledgeBase)
        #expect(nodes.map(\.name) == ["tvpc", "wyse", "rpi"])
        #expect(nodes.map(\.restingWatts) == [50.06, 2.75, 2.32])
        #expect(OfflineNode.nodeName(ofEntry: "dgoh-wyze-cpu") == "dgoh-wyze")
        #expect(OfflineNode.nodeName(ofEntry: "solo") == "solo")
        #expect(OfflineNode.nodeName(ofEntry: "-x") == "-x")
    }

    @Test("a pod asking for a GPU runs as the -gpu entry, any other as the -cpu one")
    func entryChoice() throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.knowledgeBaseManifest)
        let training = try knowledgeBase.profile(named: "training")
        #expect(OfflineNode.entry(of: training, node: "tvpc", wantsGPU: true)?.nodeName == "tvpc-gpu")
        #expect(OfflineNode.entry(of: training, node: "tvpc", wantsGPU: false)?.nodeName == "tvpc-cpu")
        #expect(OfflineNode.entry(of: training, node: "rpi", wantsGPU: true)?.nodeName == "rpi-cpu")
        #expect(OfflineNode.entry(of: training, node: "elsewhere", wantsGPU: false) == nil)
    }

    @Test("work over rate: the thesis's phases take the thesis's times")
    func workSeconds() throws {
        let workflow = try WorkflowDefinition(
            contentsOfFile: TestPaths.packageRoot.appendingPathComponent("workflows/thesis-workflow.yaml").path)
        let work = workflow.phases.compactMap(\.work)
        #expect(work.count == 3)
        // rpi preprocessing 71.96 hashes/ms; tvpc's GPU 1715.98 it/min and 59,110.14 it/s.
        #expect(abs((work[0].seconds(atRate: 71.96) ?? 0) - 781) < 1)
        #expect(abs((work[1].seconds(atRate: 1715.98) ?? 0) - 122.4) < 0.1)
        #expect(abs((work[2].seconds(atRate: 59110.14) ?? 0) - 70.5) < 0.1)
        #expect(work[0].seconds(atRate: 0) == nil)
        #expect(work[0].seconds(atRate: -1) == nil)
        #expect(work[0].seconds(atRate: .nan) == nil)
    }

    @Test("work: is checked: units above 0 and at most 1e18, ratePer a duration")
    func workRefused() {
        func parse(_ work: String) throws -> WorkflowDefinition {
            try WorkflowDefinition(
                yaml: """
                    name: w
                    phases:
                      - { name: a, profile: p, image: x, work: \(work) }
                    """, file: "w.yaml")
        }
        #expect(
            (try? parse("{ units: 10, ratePer: 1m }"))?.phases[0].work == .init(units: 10, ratePerMilliseconds: 60_000))
        #expect((try? parse("{ units: 10 }"))?.phases[0].work?.ratePerMilliseconds == 1000)
        for bad in [
            "{ units: 0 }", "{ units: -1 }", "{ units: 1e300 }", "{ units: nan }", "{ units: 0x10 }",
            "{ units: 1, ratePer: 0ms }", "{ units: 1, ratePer: x }", "{ ratePer: 1s }", "{ units: 1, other: 2 }", "12",
        ] {
            #expect(throws: WorkflowFileError.self, "\(bad)") { try parse(bad) }
        }
    }

    @Test("resource quantities: millicores and bytes, anything else none")
    func quantities() {
        #expect(ResourceQuantity.millicores("500m") == 500)
        #expect(ResourceQuantity.millicores("1") == 1000)
        #expect(ResourceQuantity.millicores("1.5") == 1500)
        #expect(ResourceQuantity.bytes("256Mi") == 268_435_456)
        #expect(ResourceQuantity.bytes("1Gi") == 1_073_741_824)
        #expect(ResourceQuantity.bytes("512M") == 512_000_000)
        #expect(ResourceQuantity.bytes("1000") == 1000)
        for bad in ["", "x", "1e999", "-1", "1e400Gi", "99999999999999999999Ti", "nan"] {
            #expect(ResourceQuantity.bytes(bad) == nil, "\(bad)")
            #expect(ResourceQuantity.millicores(bad) == nil, "\(bad)")
        }
    }

    @Test("a plug's load steps add to its curve; the ground truth integrates them exactly")
    func loadSteps() {
        let plug = SimulatedPlug(
            .init(node: "n", port: 0, generation: 2, profile: LoadProfile(idleWatts: 10, jobWatts: 0)), now: 0)
        plug.addLoad(.init(watts: 90, from: 100, to: 110))
        plug.addLoad(.init(watts: .nan, from: 0, to: 1000))
        plug.addLoad(.init(watts: 5, from: 20, to: 10))
        #expect(plug.watts(at: 99.9) == 10)
        #expect(plug.watts(at: 100) == 100)
        #expect(plug.watts(at: 110) == 10)
        #expect(abs(plug.joules(from: 95, to: 115) - (20 * 10 + 10 * 90)) < 1e-6)
        plug.endLoad(at: 105)
        #expect(plug.watts(at: 106) == 10)
        #expect(abs(plug.joules(from: 95, to: 115) - (20 * 10 + 5 * 90)) < 1e-6)
    }

    @Test("results files: the Simulated column is written and read; an older file takes only real rows")
    func simulatedColumn() throws {
        let folder = try TemporaryDirectory("simulated-column")
        let row = ResultRow(
            timestamp: "t", phase: "p", weight: 0, node: "rpi", profile: "sequential", durationSeconds: 780,
            averageWatts: 2.8, joules: 2184, scheduler: .energy, coveragePercent: 100, idleJoules: 374, simulated: true)
        let path = folder.path("new.csv")
        try ResultFile.append(row, to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix(ResultRow.header.joined(separator: ",") + "\n"))
        // `Simulated`, then `BackfilledJoules`, `AttributedJoules`, `Kwh`, `GramsCO2e`, `Cost` and
        // `Currency` (empty: the row has none).
        #expect(text.hasSuffix(",yes,,,,,,\n"))
        #expect(try ResultFile.read(path) == [row])

        let older = folder.path("older.csv")
        try (ResultRow.headerWithoutSimulated.joined(separator: ",") + "\n").write(
            toFile: older, atomically: true, encoding: .utf8)
        #expect(throws: ResultFile.Failure.self) { try ResultFile.append(row, to: older) }
        var real = row
        real.simulated = false
        try ResultFile.append(real, to: older)
        #expect(try ResultFile.read(older) == [real])
        #expect(throws: ResultFile.Failure.self) {
            try ResultFile.parse("Timestamp,Phase,Node,Duration,Joules,Simulated\nt,p,n,1,2,maybe\n", file: "x")
        }
    }
}

@Suite("Report of simulated runs")
struct SimulatedReportTests {
    static func row(_ phase: String, _ joules: Double, scheduler: SchedulerChoice, simulated: Bool) -> ResultRow {
        ResultRow(
            timestamp: simulated ? "2026-12-01T10:00:00" : "2026-12-01T09:00:00", phase: phase, weight: 0,
            node: "tvpc", profile: "training", durationSeconds: 100, averageWatts: joules / 100, joules: joules,
            scheduler: scheduler, coveragePercent: 100, idleJoules: nil, simulated: simulated)
    }

    @Test("simulated runs form groups of their own, compared with simulated runs only, and are marked on the page")
    func marked() {
        let real =
            [Self.row("train", 1000, scheduler: .energy, simulated: false)]
            + [Self.row("train", 2000, scheduler: .standard, simulated: false)]
        let simulated =
            [Self.row("train", 500, scheduler: .energy, simulated: true)]
            + [Self.row("train", 4000, scheduler: .standard, simulated: true)]
        let summary = ExperimentSummary(files: [("real.csv", real), ("sim.csv", simulated)])
        #expect(summary.groups.map(\.id) == ["energy@0.0", "standard", "simulated:energy@0.0", "simulated:standard"])
        #expect(summary.energySavedPercent(summary.groups[0]) == 50)
        #expect(summary.energySavedPercent(summary.groups[2]) == 87.5)
        let html = ReportPage.html(summary)
        #expect(html.contains("id=\"simulated\""))
        #expect(html.components(separatedBy: "<span class=\"sim\">simulated</span>").count == 1 + 2 + 2 + 1)
        let plain = ReportPage.html(ExperimentSummary(files: [("real.csv", real)]))
        #expect(!plain.contains("id=\"simulated\""))
    }
    @Test(
        "an extender that refuses the connection: the pod is placed by the default plugins alone, recorded and logged")
    func extenderRefused() async throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.knowledgeBaseManifest)
        var nodes = OfflineNode.nodes(of: knowledgeBase)
        for index in nodes.indices where nodes[index].name == "tvpc" {
            nodes[index].cpuMillicores = 8000
            nodes[index].memoryBytes = 16 << 30
        }
        let plugs = try await ShellySimulator.start(plugs: [])
        let http = CurlMultiClient()
        let log = LogRecorder()
        let scheduling = OfflineScheduling(
            nodes: nodes, knowledgeBase: knowledgeBase, workflow: try BuiltInDefaults.thesisWorkflow(), timeScale: 1,
            http: http, plugs: plugs, seed: 1, extenderTimeoutMilliseconds: 5000,
            logger: Logger(label: "test") { _ in log })
        let simulator = ClusterSimulator(
            configuration: .init(nodes: nodes.map { SimulatedNode(name: $0.name) }), lifecycle: scheduling)
        scheduling.attach(simulator)
        // Bound, never listened on: every connection is refused at once.
        let extender = try HeldPort()
        scheduling.attachExtender(url: "http://127.0.0.1:\(extender.port)")
        let pod = PodInfo(
            name: "hash-0", namespace: "default", jobName: nil, attempt: 0,
            schedulerName: WorkloadContract.energySchedulerName,
            labels: [WorkloadContract.profileLabel: "sequential"],
            annotations: [WorkloadContract.weightAnnotation: "0"],
            images: [], requiredNodeNames: nil,
            spec: ["containers": [["name": "main", "resources": ["requests": ["cpu": "1", "memory": "512Mi"]]]]])
        let placement = await scheduling.placement(of: pod)
        http.shutdown()
        await plugs.shutdown()
        // Least allocated alone: tvpc, the largest node (at weight 0 the energy scores put
        // rpi first, so this is not the extender's choice).
        #expect(placement == .node("tvpc"))
        let record = try #require(scheduling.placements.first)
        #expect(record.node == "tvpc" && record.extenderScores.isEmpty)
        #expect(record.extenderError?.isEmpty == false)
        let warnings = log.entries.filter { $0.level == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message == "placed without the extender's scores")
        #expect(warnings.first?.metadata["pod"] == "hash-0")
        #expect(warnings.first?.metadata["error"] == record.extenderError)
    }
}

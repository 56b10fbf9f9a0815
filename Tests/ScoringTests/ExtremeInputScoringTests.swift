import Foundation
import JSON
import Testing
import TestSupport

@testable import Scoring

/// Extreme numbers in every number the scorer reads from outside: node annotations, the
/// performance-weight annotation, knowledge-base figures and extender request JSON. Each
/// gets a score in range or a diagnostic, never a trap.
@Suite("Extreme input in scoring")
struct ExtremeInputScoringTests {
    static let now = Date(timeIntervalSince1970: 1_769_947_200)
    static let power = PowerAnnotations()

    static func ranked(_ nodes: [NodeSnapshot], weight: Double = 0.5, profile: Profile = EnergyScorerTests.sequential) -> ScoringResult {
        EnergyScorer().score(profile: profile, weight: weight, nodes: nodes)
    }

    @Test("node annotations: a node with an extreme value is scored as one without a live value, with a diagnostic",
        arguments: ExtremeNumbers.literals)
    func annotations(literal: String) {
        for annotations in [
            [Self.power.wattsKey: literal, Self.power.lastUpdatedKey: "1769947190"],
            [Self.power.wattsKey: "48.50", Self.power.lastUpdatedKey: literal],
        ] {
            let node = NodeSnapshot(name: "tvpc", annotations: annotations, reader: Self.power, now: Self.now)
            let result = Self.ranked([node, NodeSnapshot(name: "rpi", liveWatts: 2.3)])
            let tvpc = result.nodes.first { $0.node == "tvpc" }
            #expect(tvpc.map { (0...100).contains($0.score) } == true, "\(annotations)")
            if node.power.usableWatts == nil {
                // Not used as live power: the idle figure stands in, and a diagnostic says why.
                #expect(result.diagnostics.contains { $0.node == "tvpc" }, "\(annotations): \(result.diagnostics)")
                let idle = Self.ranked([NodeSnapshot(name: "tvpc", liveWatts: nil), NodeSnapshot(name: "rpi", liveWatts: 2.3)])
                #expect(tvpc?.score == idle.nodes.first { $0.node == "tvpc" }?.score, "\(annotations)")
            }
        }
    }

    @Test("the performance-weight annotation: clamped into 0...1 or refused, with a diagnostic", arguments: ExtremeNumbers.literals)
    func weight(literal: String) {
        let policy = PodPolicy(
            podName: "p", labels: ["app": "ml-workflow", "workload-profile": "sequential"],
            annotations: ["scheduler.policy/performance-weight": literal])
        #expect((0...1).contains(policy.weight), "\(literal): \(policy.weight)")
        if let value = Double(literal), value.isFinite, (0...1).contains(value) {
            #expect(policy.diagnostics.isEmpty, "\(literal)")
        } else {
            #expect(policy.diagnostics.contains { $0.reason == .weightInvalid || $0.reason == .weightOutOfRange }, "\(literal)")
        }
    }

    @Test("knowledge-base figures: refused with the key path, or every node scores in 0...100", arguments: ExtremeNumbers.literals)
    func knowledgeBase(literal: String) throws {
        for field in ["performanceRate", "powerConsumptionWatts", "idlePowerWatts"] {
            var entry = ["performanceRate": "1184.01", "powerConsumptionWatts": "77.52", "idlePowerWatts": "50.06"]
            entry[field] = literal
            let yaml = """
                sequential:
                  - {nodeName: tvpc-cpu, performanceRate: \(entry["performanceRate"]!), powerConsumptionWatts: \(entry["powerConsumptionWatts"]!), idlePowerWatts: \(entry["idlePowerWatts"]!)}
                  - {nodeName: rpi-cpu, performanceRate: 71.96, powerConsumptionWatts: 2.80, idlePowerWatts: 2.32}
                """
            do {
                let knowledgeBase = try KnowledgeBase(yaml: yaml)
                let profile = try knowledgeBase.profile(named: "sequential")
                for weight in [0.0, 0.5, 1.0] {
                    for live in [nil, 0.0, 48.5, 1e300] as [Double?] {
                        let result = Self.ranked([NodeSnapshot(name: "tvpc", liveWatts: live), NodeSnapshot(name: "rpi", liveWatts: 2.3)], weight: weight, profile: profile)
                        #expect(result.nodes.allSatisfy { (0...100).contains($0.score) && (0...10).contains($0.extenderScore) }, "\(field) = \(literal.prefix(24))")
                    }
                }
            } catch {
                #expect(error.description.hasPrefix("sequential[0].\(field): "), "\(field) = \(literal.prefix(24)): \(error)")
            }
        }
    }

    @Test(
        "extender request JSON: every numeric field of a real request, set to each extreme, gets 200 or 400 with one line",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func extenderRequests() async throws {
        let handler = ExtenderHandler(knowledgeBase: ExtenderHandlerTests.knowledgeBase, powerAnnotations: Self.power, logger: .init(label: "test"))
        let pod = try ClusterPayloads.pod(profile: "sequential", weight: "0.3")
        let nodes = try ["tvpc", "rpi"].map { try ClusterPayloads.node(named: $0, annotations: ClusterPayloads.power(40)) }
        let body = try ClusterPayloads.args(pod: pod, nodes: nodes)
        // Every numeric field, with the extremes that differ in kind (beyond Double, beyond
        // Int64, beyond Double's range, 400 digits, negative zero): the JSON decoder is slow
        // in debug builds, and the other literals add nothing here.
        let kinds: Set<String> = ["1e300", "9223372036854775808", "1e999", ExtremeNumbers.fourHundredDigits, "-0"]
        let variants = PayloadMutator.extremeVariants(of: body).filter { variant in kinds.contains { variant.label.hasSuffix("= \($0.prefix(24))") } }
        #expect(variants.count > 100, "bodies: \(variants.count)")
        var statuses: [Int: Int] = [:]
        for (index, variant) in variants.enumerated() {
            // CPU-bound for half a minute in a debug build: it yields now and then, or it
            // would hold one of the few threads of the cooperative pool that timing-sensitive
            // tests running alongside need.
            if index % 5 == 0 { await Task.yield() }
            for answer in [handler.prioritize(body: variant.bytes, now: Self.now)] {
                statuses[answer.status, default: 0] += 1
                #expect(answer.status == 200 || answer.status == 400, "\(variant.label): \(answer.status)")
                if answer.status == 400 {
                    let text = String(decoding: answer.body, as: UTF8.self)
                    #expect(!text.dropLast().contains("\n"), "\(variant.label): \(text.prefix(300))")
                }
            }
        }
        print("extreme numbers in extender requests: \(variants.count) bodies, answers by status \(statuses.sorted { $0.key < $1.key })")
    }
}

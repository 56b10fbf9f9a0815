import Foundation
import Testing
import TestSupport

@testable import Scoring

/// One line of `thesis_simulation_data.csv`.
private struct ThesisRow {
    let line: String
    let job: String
    let node: String
    let variant: String
    let weight: Double
    let liveIdle: Double
    let marginal: Double
    let predTotal: Double
    let rawPerf: Double
    let rawEff: Double
    let normPerf: Double
    let normEff: Double
    let finalScore: Int

    init(line: String) throws {
        let fields = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 12 else { throw ThesisLogError(line: line) }
        func number(_ index: Int) throws -> Double {
            guard let value = Double(fields[index]) else { throw ThesisLogError(line: line) }
            return value
        }
        self.line = line
        job = fields[0]
        node = fields[1]
        variant = fields[2]
        weight = try number(3)
        liveIdle = try number(4)
        marginal = try number(5)
        predTotal = try number(6)
        rawPerf = try number(7)
        rawEff = try number(8)
        normPerf = try number(9)
        normEff = try number(10)
        guard let final = Int(fields[11]) else { throw ThesisLogError(line: line) }
        finalScore = final
    }
}

private struct ThesisLogError: Error, CustomStringConvertible {
    let line: String
    var description: String { "unreadable thesis log line: \(line)" }
}

/// The decisions of one pod: its rows in log order.
private struct ThesisDecision {
    let job: String
    var rows: [ThesisRow]

    /// The profile, inferred from the job name the thesis harness gave each workload phase.
    var profileName: String? {
        let phases = [
            "ml-preprocessing-job-": "sequential", "ml-train-job-": "training", "ml-inference-job-": "inference",
        ]
        return phases.first { job.hasPrefix($0.key) }?.value
    }

    /// The nodes in log order, each with the live watts the plugin saw (`LiveIdle`).
    var nodes: [NodeSnapshot] {
        var seen: [String] = []
        for row in rows where !seen.contains(row.node) { seen.append(row.node) }
        return seen.map { name in NodeSnapshot(name: name, liveWatts: rows.first { $0.node == name }!.liveIdle) }
    }
}

@Suite("EnergyScorer against the thesis log", .enabled(if: TestPaths.thesisTestsEnabled, "../shared/thesis is absent"))
struct ThesisReplayTests {
    private static func loadDecisions() throws -> (header: String, decisions: [ThesisDecision]) {
        let text = try String(
            contentsOf: TestPaths.thesis.appendingPathComponent("thesis_simulation_data.csv"),
            encoding: .utf8
        )
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst()
        var decisions: [ThesisDecision] = []
        for line in lines {
            let row = try ThesisRow(line: line)
            if decisions.last?.job == row.job {
                decisions[decisions.count - 1].rows.append(row)
            } else {
                decisions.append(ThesisDecision(job: row.job, rows: [row]))
            }
        }
        return (header, decisions)
    }

    @Test("all 284 decisions: FinalScore exactly, NormPerf and NormEff within 0.1, every figure")
    func reproducesEveryDecision() throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.thesisKnowledgeBasePath)
        let (_, decisions) = try Self.loadDecisions()
        #expect(decisions.flatMap(\.rows).count == 284)
        var compared = 0
        for decision in decisions {
            let profileName = try #require(decision.profileName, "no profile for job \(decision.job)")
            let profile = try knowledgeBase.profile(named: profileName)
            let weight = decision.rows[0].weight
            #expect(decision.rows.allSatisfy { $0.weight == weight }, "\(decision.job): one weight per pod")
            let result = EnergyScorer().score(
                profile: profile, weight: weight, nodes: decision.nodes, job: decision.job)
            for row in decision.rows {
                let node = try #require(result.score(for: row.node), "\(row.line): node not scored")
                let variant = try #require(
                    node.variants.first { $0.variant == row.variant }, "\(row.line): variant missing")
                #expect(variant.finalScore == row.finalScore, "\(row.line): score \(variant.score)")
                #expect(abs(variant.normalizedPerformance - row.normPerf) <= 0.1, "\(row.line)")
                #expect(abs(variant.normalizedEfficiency - row.normEff) <= 0.1, "\(row.line)")
                // The log prints two (RawEff: four) decimals, so the rest must agree to half a unit.
                #expect(abs(variant.liveIdleWatts - row.liveIdle) <= 0.005 + 1e-9, "\(row.line)")
                #expect(abs(variant.marginalWatts - row.marginal) <= 0.005 + 1e-9, "\(row.line)")
                #expect(abs(variant.predictedTotalWatts - row.predTotal) <= 0.005 + 1e-9, "\(row.line)")
                #expect(abs(variant.rawPerformance - row.rawPerf) <= 0.005 + 1e-9, "\(row.line)")
                #expect(abs(variant.rawEfficiency - row.rawEff) <= 0.00005 + 1e-9, "\(row.line)")
                compared += 1
            }
            // Exactly the logged variants, and the node takes the best of them.
            for node in result.nodes {
                let logged = decision.rows.filter { $0.node == node.node }
                #expect(node.variants.map(\.variant) == logged.map(\.variant), "\(decision.job) \(node.node)")
                #expect(node.score == logged.map(\.finalScore).max(), "\(decision.job) \(node.node)")
            }
        }
        #expect(compared == 284)
    }

    @Test("the thesis CSV rendering matches every logged line byte for byte")
    func rendersTheLog() throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.thesisKnowledgeBasePath)
        let (header, decisions) = try Self.loadDecisions()
        #expect(header == ScoringResult.thesisCSVHeader)
        var rendered: [String] = []
        for decision in decisions {
            let profile = try knowledgeBase.profile(named: try #require(decision.profileName))
            let result = EnergyScorer().score(
                profile: profile,
                weight: decision.rows[0].weight,
                nodes: decision.nodes,
                job: decision.job
            )
            rendered += result.thesisCSVRows
        }
        // The plugin scored nodes concurrently, so a few pods log their nodes interleaved:
        // compare the lines as sorted multisets rather than in order.
        let logged = decisions.flatMap(\.rows).map(\.line)
        #expect(rendered.count == logged.count)
        for (ours, theirs) in zip(rendered.sorted(), logged.sorted()) {
            #expect(ours == theirs)
        }
    }
}

@Suite("EnergyScorer formula")
struct EnergyScorerTests {
    /// The thesis `sequential` profile, written out so these tests run without ../shared.
    static let sequential = Profile(
        name: "sequential",
        entries: [
            ProfileEntry(
                nodeName: "tvpc-cpu", performanceRate: 1184.01, powerConsumptionWatts: 77.52, idlePowerWatts: 50.06),
            ProfileEntry(
                nodeName: "dgoh-wyze-cpu", performanceRate: 741.07, powerConsumptionWatts: 5.03, idlePowerWatts: 2.75),
            ProfileEntry(
                nodeName: "rpi-cpu", performanceRate: 71.96, powerConsumptionWatts: 2.80, idlePowerWatts: 2.32),
            ProfileEntry(
                nodeName: "tvpc-gpu", performanceRate: 6.73, powerConsumptionWatts: 92.40, idlePowerWatts: 52.00),
        ]
    )

    @Test("without a live value the projection is the load power and LiveIdle is the idle power")
    func noLiveValue() throws {
        let result = EnergyScorer().score(
            profile: Self.sequential,
            weight: 0,
            nodes: [NodeSnapshot(name: "rpi", liveWatts: nil)]
        )
        let variant = try #require(result.nodes.first?.best)
        #expect(variant.liveIdleWatts == 2.32)
        #expect(!variant.isLiveMeasured)
        #expect(variant.predictedTotalWatts == 2.80)
        #expect(variant.penalty == 1)
        // eff = 71.96 / 2.80 = 25.7; maxE = 741.07 / 5.03 = 147.33 -> 17.4 %
        #expect(abs(variant.normalizedEfficiency - 100 * (71.96 / 2.80) / (741.07 / 5.03)) < 1e-9)
        #expect(variant.finalScore == 17)
        #expect(result.diagnostics.map(\.reason) == [.powerMissing, .unmatchedEntry, .unmatchedEntry, .unmatchedEntry])
    }

    @Test("a busy node is penalised only above max(1.2 * idle, idle + 2)")
    func loadPenalty() {
        let entry = Self.sequential.entries[1]  // idle 2.75, delta 2.28; threshold max(3.3, 4.75) = 4.75
        let scorer = EnergyScorer()
        let atThreshold = scorer.scoreVariant(entry, of: Self.sequential, node: "dgoh-wyze", weight: 1, liveWatts: 4.75)
        #expect(atThreshold.penalty == 1)
        let busy = scorer.scoreVariant(entry, of: Self.sequential, node: "dgoh-wyze", weight: 1, liveWatts: 10.3)
        let expected = 1 / (1 + 0.5 * ((10.3 - 2.75) / (5.03 - 2.75)))
        #expect(abs(busy.penalty - expected) < 1e-12)
        #expect(abs(busy.rawPerformance - 741.07 * expected) < 1e-9)
        #expect(busy.predictedTotalWatts == 10.3 + (5.03 - 2.75))
    }

    @Test("a non-positive delta counts as 1 W and a zero power as 1 W in maxE")
    func degenerateEntries() throws {
        let profile = Profile(
            name: "odd",
            entries: [
                ProfileEntry(nodeName: "a-cpu", performanceRate: 10, powerConsumptionWatts: 0, idlePowerWatts: 5),
                ProfileEntry(nodeName: "b-cpu", performanceRate: 0, powerConsumptionWatts: 4, idlePowerWatts: 4),
            ]
        )
        #expect(profile.maxEfficiency == 10)  // 10 / max-guarded 1 W
        #expect(profile.maxPerformance == 10)
        let a = EnergyScorer().scoreVariant(profile.entries[0], of: profile, node: "a", weight: 0, liveWatts: 3)
        #expect(a.marginalWatts == 1)
        #expect(a.predictedTotalWatts == 4)
        #expect(a.rawEfficiency == 10.0 / 4)
        let b = EnergyScorer().scoreVariant(profile.entries[1], of: profile, node: "b", weight: 0.5, liveWatts: nil)
        #expect(b.marginalWatts == 1)
        #expect(b.finalScore == 0)
        let allZero = Profile(name: "zero", entries: [profile.entries[1]])
        #expect(allZero.maxPerformance == 1)
        #expect(allZero.maxEfficiency == 1)
    }

    @Test("maxP and maxE come from the whole profile, not from the nodes asked about")
    func normalisationOverAllEntries() throws {
        let result = EnergyScorer().score(
            profile: Self.sequential,
            weight: 1,
            nodes: [NodeSnapshot(name: "rpi", liveWatts: 2.3)]
        )
        let variant = try #require(result.nodes.first?.best)
        #expect(abs(variant.normalizedPerformance - 100 * 71.96 / 1184.01) < 1e-9)
        #expect(variant.finalScore == 6)
    }

    @Test("variants are the entries whose name contains the node name; the best one wins")
    func bestVariant() throws {
        let result = EnergyScorer().score(
            profile: Self.sequential,
            weight: 1,
            nodes: [NodeSnapshot(name: "tvpc", liveWatts: 48.5)]
        )
        let node = try #require(result.nodes.first)
        #expect(node.variants.map(\.variant) == ["tvpc-cpu", "tvpc-gpu"])
        #expect(node.best?.variant == "tvpc-cpu")
        #expect(node.score == 100)
        #expect(node.extenderScore == 10)
    }

    @Test("equal variant scores keep the first variant")
    func tieKeepsFirst() throws {
        let twin = ProfileEntry(nodeName: "n-a", performanceRate: 5, powerConsumptionWatts: 10, idlePowerWatts: 2)
        var other = twin
        other.nodeName = "n-b"
        let profile = Profile(name: "p", entries: [twin, other])
        let node = try #require(
            EnergyScorer().score(profile: profile, weight: 0.5, nodes: [.init(name: "n", liveWatts: nil)]).nodes.first)
        #expect(node.best?.variant == "n-a")
        #expect(node.variants.count == 2)
    }

    @Test("the weight is clamped to 0...1")
    func weightClamp() {
        let nodes = [NodeSnapshot(name: "dgoh-wyze", liveWatts: 2.5)]
        #expect(EnergyScorer().score(profile: Self.sequential, weight: 7, nodes: nodes).weight == 1)
        #expect(EnergyScorer().score(profile: Self.sequential, weight: -1, nodes: nodes).weight == 0)
        #expect(EnergyScorer().score(profile: Self.sequential, weight: .nan, nodes: nodes).weight == 0.5)
    }

    @Test(
        "extender score is floor((s + 5) / 10)",
        arguments: [(0, 0), (4, 0), (5, 1), (14, 1), (15, 2), (94, 9), (95, 10), (100, 10)])
    func extenderScore(score: Int, expected: Int) {
        #expect(NodeScore.extenderScore(score) == expected)
    }

    @Test("ranked orders nodes by score, keeping input order for equal scores")
    func ranking() {
        let result = EnergyScorer().score(
            profile: Self.sequential,
            weight: 0,
            nodes: [
                NodeSnapshot(name: "tvpc", liveWatts: 48.5),
                NodeSnapshot(name: "ghost", liveWatts: nil),
                NodeSnapshot(name: "dgoh-wyze", liveWatts: 2.5),
                NodeSnapshot(name: "rpi", liveWatts: 2.3),
            ]
        )
        #expect(result.ranked.map(\.node) == ["dgoh-wyze", "rpi", "tvpc", "ghost"])
        #expect(result.ranked.map(\.score) == [100, 17, 10, 0])
    }
}

import Logging
import TestSupport
import Testing

@testable import Scoring

@Suite("ScoringDiagnostic: drifted names are reported, not silently scored")
struct ScoringDiagnosticTests {
    /// The thesis inference profile, with the worker entry under its thesis name `dgoh-wyze-cpu`.
    static let inference = Profile(
        name: "inference",
        entries: [
            ProfileEntry(
                nodeName: "tvpc-cpu", performanceRate: 22036.82, powerConsumptionWatts: 120.95, idlePowerWatts: 50.06),
            ProfileEntry(
                nodeName: "dgoh-wyze-cpu", performanceRate: 7742.88, powerConsumptionWatts: 10.77, idlePowerWatts: 2.75),
            ProfileEntry(
                nodeName: "rpi-cpu", performanceRate: 22.11, powerConsumptionWatts: 2.93, idlePowerWatts: 2.32),
            ProfileEntry(
                nodeName: "tvpc-gpu", performanceRate: 59110.14, powerConsumptionWatts: 98.14, idlePowerWatts: 50.06),
        ]
    )

    @Test("a renamed worker: the node and the orphaned entry are both reported")
    func renamedNode() throws {
        // The reference cluster calls the worker `wyse`; the thesis knowledge base says `dgoh-wyze-cpu`.
        let result = EnergyScorer().score(
            profile: Self.inference,
            weight: 0.5,
            nodes: [
                NodeSnapshot(name: "tvpc", liveWatts: 48),
                NodeSnapshot(name: "wyse", liveWatts: 2.6),
                NodeSnapshot(name: "rpi", liveWatts: 2.3),
            ]
        )
        #expect(result.score(for: "wyse")?.score == 0)
        #expect(result.score(for: "wyse")?.variants.isEmpty == true)
        let reasons = result.diagnostics.map(\.reason)
        #expect(reasons == [.unmatchedNode, .unmatchedEntry])
        let node = try #require(result.diagnostics.first { $0.reason == .unmatchedNode })
        #expect(node.node == "wyse")
        #expect(node.profile == "inference")
        #expect(node.message.contains("dgoh-wyze-cpu"))
        let entry = try #require(result.diagnostics.first { $0.reason == .unmatchedEntry })
        #expect(entry.entry == "dgoh-wyze-cpu")
        #expect(entry.node == nil)
    }

    @Test("an entry that contains several node names is reported as ambiguous")
    func ambiguousEntry() {
        let result = EnergyScorer().score(
            profile: Self.inference,
            weight: 0.5,
            nodes: [NodeSnapshot(name: "tvpc", liveWatts: 48), NodeSnapshot(name: "pc", liveWatts: 30)]
        )
        let ambiguous = result.diagnostics.filter { $0.reason == .ambiguousEntry }
        #expect(ambiguous.map(\.entry) == ["tvpc-cpu", "tvpc-gpu"])
        #expect(result.score(for: "pc")?.variants.count == 2)
    }

    @Test("stale and invalid power readings are reported per node")
    func powerDiagnostics() {
        let result = EnergyScorer().score(
            profile: Self.inference,
            weight: 0.5,
            nodes: [
                NodeSnapshot(name: "tvpc", power: .stale(watts: 48, age: 95)),
                NodeSnapshot(
                    name: "rpi",
                    power: .invalid(reason: "energy.thesis.io/current-watts: not a non-negative number (\"x\")")),
                NodeSnapshot(name: "dgoh-wyze", power: .fresh(watts: 2.5, age: 1)),
            ]
        )
        #expect(result.diagnostics.map(\.reason) == [.powerStale, .powerInvalid])
        #expect(result.diagnostics.map(\.node) == ["tvpc", "rpi"])
        // Both fall back to idle power instead of being scored 0.
        #expect(result.score(for: "tvpc")?.best?.isLiveMeasured == false)
        #expect(result.score(for: "tvpc")?.best?.liveIdleWatts == 50.06)
        #expect(result.score(for: "rpi")?.best?.predictedTotalWatts == 2.93)
    }

    @Test("a whole-cluster audit reports drift in both directions, per profile")
    func audit() throws {
        let knowledgeBase = try KnowledgeBase(profiles: [
            Self.inference,
            Profile(name: "tiny", entries: [Self.inference.entries[2]]),
        ])
        let diagnostics = knowledgeBase.audit(nodeNames: ["tvpc", "wyse", "rpi"])
        let summary = diagnostics.map { "\($0.reason.rawValue) \($0.profile ?? "-") \($0.node ?? $0.entry ?? "-")" }
        #expect(
            summary == [
                "unmatched_entry inference dgoh-wyze-cpu",
                "unmatched_node inference wyse",
                "unmatched_node tiny tvpc",
                "unmatched_node tiny wyse",
            ])
        #expect(try KnowledgeBase(profiles: [Self.inference]).audit(nodeNames: ["tvpc", "dgoh-wyze", "rpi"]).isEmpty)
    }

    @Test("reason labels are stable metric label values")
    func labels() {
        let labels = ScoringDiagnostic.Reason.allCases.map(\.rawValue)
        #expect(
            labels == [
                "unmatched_node", "unmatched_entry", "ambiguous_entry", "power_missing", "power_stale", "power_invalid",
                "weight_invalid", "weight_out_of_range", "profile_missing", "profile_unknown", "node_not_in_view",
            ])
        #expect(labels.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
    }

    @Test("a diagnostic logs at its reason's level with its facts as metadata")
    func logging() {
        let recorder = LogRecorder()
        let logger = Logger(label: "test") { _ in recorder }
        ScoringDiagnostic(reason: .unmatchedNode, node: "wyse", profile: "inference", pod: "job-1", message: "m")
            .log(to: logger)
        let entries = recorder.entries
        #expect(entries.count == 1)
        #expect(entries.first?.level == .warning)
        #expect(entries.first?.message == "m")
        #expect(
            entries.first?.metadata == [
                "reason": "unmatched_node", "node": "wyse", "profile": "inference", "pod": "job-1",
            ])
    }
}

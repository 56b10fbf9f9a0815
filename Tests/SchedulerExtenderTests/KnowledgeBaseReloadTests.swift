import Foundation
import SchedulerExtender
import Scoring
import Testing
import TestSupport

@Suite("Knowledge-base reload while the extender runs")
struct KnowledgeBaseReloadTests {
    /// A two-node profile where `a` wins on energy; `aPerformance` moves the ranking.
    static func profiles(aPerformance: Double) -> String {
        """
        sequential:
          - { nodeName: a-cpu, performanceRate: \(aPerformance), powerConsumptionWatts: 10, idlePowerWatts: 5 }
          - { nodeName: b-cpu, performanceRate: 50, powerConsumptionWatts: 10, idlePowerWatts: 5 }

        """
    }

    /// `ExtenderArgs` for an opted-in pod at weight 0 and nodes `a`, `b` without annotations
    /// (both score from their load power: eff = perf / 10 W).
    static let body: [UInt8] = Array(
        try! JSONEncoder().encode(
            ExtenderArgs(
                pod: ExtenderPod(
                    metadata: ObjectMetadata(
                        name: "job",
                        labels: ["app": "ml-workflow", "workload-profile": "sequential"],
                        annotations: ["scheduler.policy/performance-weight": "0"]
                    )
                ),
                nodes: ExtenderNodeList(items: [ExtenderNode(name: "a"), ExtenderNode(name: "b")]),
                nodeNames: nil
            )
        )
    )

    static func scores(_ extender: RunningExtender) async throws -> [Int] {
        let response = try await extender.post("/scheduler/prioritize", body)
        #expect(response.status == 200)
        return try JSONDecoder().decode([HostPriority].self, from: Data(response.body)).map(\.score)
    }

    @Test("an edit applies from the next request, a broken edit keeps the last good version, a fix loads again")
    func editBreakRestore() async throws {
        let scratch = try TemporaryDirectory()
        let path = try scratch.write(Self.profiles(aPerformance: 100), to: "profiles.yaml")
        try await withExtender(knowledgeBase: path, pollInterval: .milliseconds(50)) { extender in
            // a: 100 / 10 W is the best efficiency (100 %), b: 50 %.
            #expect(try await Self.scores(extender) == [10, 5])

            // Edit in place (no rename): a drops to 20 % of b's efficiency.
            try Data(Self.profiles(aPerformance: 10).utf8).write(to: URL(fileURLWithPath: path))
            let edited = try await eventually { try await Self.scores(extender) == [2, 10] }
            #expect(edited, "the edited knowledge base was not picked up within 5 s")
            #expect(try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="ok"}"#) == 1)
            #expect(extender.watcher.generation == 2)

            // A broken edit (a negative figure) is rejected; the edited version stays in use.
            // (The in-place write above may have been read half-written once, and rejected.)
            let errors = try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="error"}"#) ?? 0
            try scratch.write(Self.profiles(aPerformance: -1), to: "profiles.yaml")
            let rejected = try await eventually {
                try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="error"}"#) == errors + 1
            }
            #expect(rejected, "the broken knowledge base was not reported within 5 s")
            #expect(try await extender.metric("energy_monitor_knowledge_base_valid") == 0)
            #expect(extender.watcher.lastError?.description.contains("negative") == true)
            #expect(try await Self.scores(extender) == [2, 10])

            // Not YAML at all: still the edited version.
            try scratch.write("sequential: [ { nodeName: a-cpu\n", to: "profiles.yaml")
            let rejectedAgain = try await eventually {
                try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="error"}"#) == errors + 2
            }
            #expect(rejectedAgain, "the unparsable knowledge base was not reported within 5 s")
            #expect(try await Self.scores(extender) == [2, 10])

            // Restoring the original loads it again (atomic rename, as the kubelet updates a ConfigMap).
            try scratch.write(Self.profiles(aPerformance: 100), to: "profiles.yaml")
            let restored = try await eventually { try await Self.scores(extender) == [10, 5] }
            #expect(restored, "the restored knowledge base was not picked up within 5 s")
            #expect(try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="ok"}"#) == 2)
            #expect(try await extender.metric("energy_monitor_knowledge_base_valid") == 1)
            #expect(try await extender.metric("energy_monitor_knowledge_base_generation") == 3)
        }
    }

    @Test("a deleted file keeps the last good version and counts as a rejected change")
    func deletedFile() async throws {
        let scratch = try TemporaryDirectory()
        let path = try scratch.write(Self.profiles(aPerformance: 100), to: "profiles.yaml")
        try await withExtender(knowledgeBase: path, pollInterval: .milliseconds(50)) { extender in
            try FileManager.default.removeItem(atPath: path)
            let rejected = try await eventually {
                try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="error"}"#) ?? 0 >= 1
            }
            #expect(rejected, "the missing file was not reported within 5 s")
            #expect(try await Self.scores(extender) == [10, 5])
            // Still missing after several more polls: counted once, not once per poll.
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await extender.metric(#"energy_monitor_knowledge_base_reloads_total{result="error"}"#) == 1)
            #expect(try await extender.metric("energy_monitor_knowledge_base_valid") == 0)
        }
    }
}

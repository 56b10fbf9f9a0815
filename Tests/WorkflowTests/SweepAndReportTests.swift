import Foundation
import TestSupport
import Testing

@testable import Workflow

/// The sweep's plan and resume, and the report's figures and page.
@Suite("Sweep and report")
struct SweepAndReportTests {
    @Test("the matrix goes by repetition; runs already complete are marked done, per cell")
    func plan() {
        let sweep = WorkflowSweep(schedulers: [.energy, .standard], weights: [0, 1], repetitions: 2)
        let done: [WorkflowSweep.Cell: Int] = [
            .init(scheduler: .energy, weight: 0): 2, .init(scheduler: .standard, weight: 1): 1,
        ]
        let steps = sweep.plan(completed: done)
        #expect(steps.count == 8)
        #expect(
            steps.prefix(4).map { "\($0.cell.scheduler.rawValue)@\($0.cell.weight)#\($0.repetition)" } == [
                "energy@0.0#1", "standard@0.0#1", "energy@1.0#1", "standard@1.0#1",
            ])
        #expect(
            steps.filter(\.done).map { "\($0.cell.scheduler.rawValue)@\($0.cell.weight)#\($0.repetition)" } == [
                "energy@0.0#1", "standard@1.0#1", "energy@0.0#2",
            ])
    }

    static func run(
        _ timestamp: String, _ scheduler: SchedulerChoice, _ weight: Double?, pre: (String, Double, Double),
        train: (String, Double, Double)
    )
        -> [ResultRow]
    {
        [("preprocessing", pre), ("train", train)].map { phase, figures in
            ResultRow(
                timestamp: timestamp, phase: phase, weight: weight, node: figures.0, profile: nil,
                durationSeconds: figures.1,
                averageWatts: nil, joules: figures.2, scheduler: scheduler, coveragePercent: 100, idleJoules: nil)
        }
    }

    @Test("figures: means and spread per group, the default scheduler pooled over weights, energy saved and time lost")
    func summary() throws {
        let ours =
            Self.run("a", .energy, 0, pre: ("rpi", 100, 300), train: ("tvpc", 100, 20_000))
            + Self.run("b", .energy, 0, pre: ("rpi", 120, 340), train: ("tvpc", 100, 20_000))
            + Self.run("c", .standard, 0, pre: ("tvpc", 60, 5000), train: ("tvpc", 100, 20_000))
            + Self.run("d", .standard, 1, pre: ("tvpc", 60, 5000), train: ("tvpc", 100, 20_000))
            + [Self.run("e", .energy, 1, pre: ("tvpc", 1, 1), train: ("tvpc", 1, 1))[0]]  // cut short
        let summary = ExperimentSummary(files: [("ours.csv", ours)])
        #expect(summary.groups.map(\.id) == ["energy@0.0", "standard"])
        #expect(summary.sources == [.init(path: "ours.csv", complete: 4, incomplete: 1)])
        let energy = summary.groups[0]
        #expect(energy.joules.mean == 20_320)
        #expect(abs((energy.joules.deviation ?? 0) - 28.2843) < 1e-3)
        #expect(energy.duration.mean == 210)
        #expect(energy.phases[0].nodes == ["rpi": 2])
        let baseline = try #require(summary.baseline)
        #expect(baseline.runs.count == 2 && baseline.joules.mean == 25_000 && baseline.duration.mean == 160)
        #expect(abs((summary.energySavedPercent(energy) ?? 0) - 18.72) < 1e-9)
        #expect(abs((summary.timeLostPercent(energy) ?? 0) - 31.25) < 1e-9)
        #expect(summary.energySavedPercent(baseline) == nil)
    }

    @Test(
        "the thesis's own files: energy scheduler at weight 0.0 against the baseline",
        .enabled(
            if: TestPaths.thesisTestsEnabled, "../shared/thesis is absent: the thesis data is read in place, never copied")
    )
    func thesisSummary() throws {
        let files = ["thesis_results.csv", "results_baseline.csv"].map {
            TestPaths.thesis.appendingPathComponent($0).path
        }
        let summary = ExperimentSummary(files: try files.map { ($0, try ResultFile.read($0)) })
        #expect(summary.groups.map(\.id) == ["energy@0.0", "standard"])
        #expect(summary.phases == ["preprocessing", "train", "inference"])
        let energy = summary.groups[0]
        #expect(energy.runs.count == 2)
        #expect(abs(energy.joules.mean - (2249.28 + 23018.75 + 7445.77 + 2270.17 + 22132.81 + 7308.70) / 2) < 1e-6)
        #expect(energy.phases[0].nodes == ["rpi": 2])
        let baseline = try #require(summary.baseline)
        #expect(baseline.runs.count == 2)
        #expect(abs(baseline.joules.mean - (4966.29 + 21612.30 + 12818.52 + 5091.66 + 21833.12 + 13131.24) / 2) < 1e-6)
        let saved = try #require(summary.energySavedPercent(energy))
        let lost = try #require(summary.timeLostPercent(energy))
        print(
            String(
                format:
                    "thesis: energy scheduler at w=0.0 saves %.1f %% energy and takes %.1f %% longer than the default scheduler",
                saved, lost))
        #expect(saved > 10 && lost > 100)
        #expect(summary.sources[1].incomplete == 2)
    }

    @Test(
        "the page is self-contained: no script, no external reference, two inline SVG plots, every group in the table")
    func page() throws {
        let rows =
            Self.run("a", .energy, 0.25, pre: ("rpi", 100, 300), train: ("tvpc", 100, 20_000))
            + Self.run("b", .standard, nil, pre: ("tvpc", 60, 5000), train: ("tvpc", 100, 20_000))
            + Self.run("c", .energy, 0.75, pre: ("tvpc<&>", 60, 5000), train: ("tvpc", 90, 19_000))
        let html = ReportPage.html(ExperimentSummary(files: [("x<y>.csv", rows)]))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.lowercased().contains("<script"))
        let references = html.components(separatedBy: "http").dropFirst().map { String($0.prefix(40)) }
        #expect(
            references.allSatisfy { $0.hasPrefix("://www.w3.org/2000/svg") || $0.hasPrefix("-equiv") }, "\(references)")
        #expect(html.components(separatedBy: "<svg").count == 3)
        #expect(html.contains("data-group=\"energy@0.25\"") && html.contains("data-group=\"standard\""))
        #expect(html.contains("tvpc&lt;&amp;&gt; ×1") && html.contains("x&lt;y&gt;.csv"))
        #expect(html.contains("+18.8 %"), "energy saved column")
        #expect(html.components(separatedBy: "class=\"segment\"").count - 1 == 6)
    }
}

import AnnotationContract
import Foundation
import Testing
import TestSupport

@Suite(
    "energy-monitor score",
    .enabled(
        if: TestPaths.binaryAvailable,
        "build the tool first (swift build --product energy-monitor): .build/debug/energy-monitor is absent")
)
struct ScoreCommandTests {
    static let base = [
        "score", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--profile", "sequential", "--weight", "0.3",
    ]

    /// The rows of the readable table, cells split at the two-space column gaps.
    static func tableRows(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { line in
            line.split(separator: "  ", omittingEmptySubsequences: true).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            .filter { !$0.isEmpty }
        }
    }

    @Test("the table shows every figure of the formula, the load penalty included")
    func tableFigures() async throws {
        let result = try await runBinary(Self.base + ["--watts", "tvpc=80,wyse=2.5,rpi=2.3"])
        #expect(result.status == 0, "\(result.stderr)")
        // tvpc-cpu by hand: idle 50.06 W, load 77.52 W, so delta 27.46 W; 80 W live is above
        // max(1.2 * idle, idle + 2) = 60.072 W, so the node is busy and penalised.
        let delta = 77.52 - 50.06
        let penalty = 1 / (1 + 0.5 * ((80 - 50.06) / delta))
        let performance = 1184.01 * penalty
        let projected = 80 + delta
        let efficiency = performance / projected
        let maxEfficiency = 741.07 / 5.03  // wyse-cpu has the best benchmark efficiency
        let normalizedPerformance = min(100, 100 * performance / 1184.01)
        let normalizedEfficiency = min(100, 100 * efficiency / maxEfficiency)
        let score = 0.3 * normalizedPerformance + 0.7 * normalizedEfficiency
        let final = Int(score)
        let rows = Self.tableRows(result.stdout)
        let expected = [
            "tvpc", "tvpc-cpu", "80.00", "live", String(format: "%.2f", delta), String(format: "%.2f", projected),
            String(format: "%.4f", penalty), String(format: "%.2f", performance), String(format: "%.4f", efficiency),
            String(format: "%.1f", normalizedPerformance), String(format: "%.1f", normalizedEfficiency),
            String(format: "%.2f", score), String(final),
        ]
        #expect(rows.contains(expected), "\(result.stdout)")
        #expect(result.stdout.contains("maxP = 1184.01   maxE = \(String(format: "%.4f", maxEfficiency)) per W"))
        // wyse: 2.5 W live (below idle, no penalty), P_proj 4.78 W, NormEff capped at 100:
        // 0.3 * 62.59 + 0.7 * 100 = 88.78 -> 88 -> extender 9, ranked first.
        let ranking = rows.drop { $0.first?.hasPrefix("ranking") != true }.dropFirst(2)
        #expect(Array(ranking.first ?? []) == ["1", "wyse", "88", "9", "wyse-cpu"], "\(result.stdout)")
        let tvpcRank = try #require(ranking.first { $0.count > 1 && $0[1] == "tvpc" })
        #expect(Array(tvpcRank.dropFirst(2)) == [String(final), String((final + 5) / 10), "tvpc-cpu"])
        #expect(!result.stdout.contains("diagnostics:"), "the manifest serves exactly tvpc, wyse and rpi")
    }

    @Test("--nodes adds nodes without a reading; drifted names are reported, not silently scored")
    func diagnosticsInTable() async throws {
        let result = try await runBinary(Self.base + ["--watts", "tvpc=48.5", "--nodes", "rpi,wyze"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = Self.tableRows(result.stdout)
        // rpi without a reading: idle 2.32 W stands in and P_proj is the load power 2.80 W.
        #expect(rows.contains { $0.starts(with: ["rpi", "rpi-cpu", "2.32", "kb idle (no reading)", "0.48", "2.80"]) })
        #expect(rows.contains { $0.starts(with: ["wyze", "(none)"]) })
        #expect(result.stdout.contains("unmatched_node: no entry of profile \"sequential\" serves node \"wyze\""))
        #expect(result.stdout.contains("unmatched_entry: entry \"wyse-cpu\""))
        #expect(result.stdout.contains("power_missing: node \"rpi\""))
    }

    @Test(
        "CSV output reproduces every decision of the thesis log",
        .enabled(if: TestPaths.thesisTestsEnabled, "../shared/thesis is absent")
    )
    func thesisReplay() async throws {
        let text = try String(
            contentsOf: TestPaths.thesis.appendingPathComponent("thesis_simulation_data.csv"), encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst()
        var jobs: [(job: String, lines: [String])] = []
        for line in lines {
            let job = String(line.prefix { $0 != ";" })
            if jobs.last?.job == job { jobs[jobs.count - 1].lines.append(line) } else { jobs.append((job, [line])) }
        }
        #expect(jobs.count == 71)
        let profiles = [
            "ml-preprocessing-job-": "sequential", "ml-train-job-": "training", "ml-inference-job-": "inference",
        ]
        for (job, logged) in jobs {
            let profile = try #require(profiles.first { job.hasPrefix($0.key) }?.value, "no profile for \(job)")
            let fields = logged.map { $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init) }
            var watts: [String] = []
            for row in fields where !watts.contains(where: { $0.hasPrefix(row[1] + "=") }) {
                watts.append("\(row[1])=\(row[4])")  // Node=LiveIdle as the plugin saw it
            }
            let result = try await runBinary([
                "score", "--knowledge-base", TestPaths.thesis.appendingPathComponent("knowledge-base.yaml").path,
                "--profile", profile, "--weight", fields[0][3], "--watts", watts.joined(separator: ","),
                "--job", job, "--format", "csv",
            ])
            #expect(result.status == 0, "\(job): \(result.stderr)")
            var output = result.stdout.split(separator: "\n").map(String.init)
            #expect(output.first == header)
            output.removeFirst()
            // The plugin scored nodes concurrently, so compare the rows as sorted multisets.
            #expect(output.sorted() == logged.sorted(), "\(job)")
        }
    }

    @Test(
        "--nodes-file reads the power annotations with the 30 s freshness rule; --watts overrides them",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func nodesFile() async throws {
        let now = 1_769_947_200.0
        let power = PowerAnnotationContract()
        let list: [String: Any] = [
            "apiVersion": "v1", "kind": "NodeList", "metadata": ["resourceVersion": ""],
            "items": [
                try ClusterPayloads.node(
                    named: "tvpc", annotations: power.annotations(watts: 48.5, timestampMilliseconds: Int64(now - 5) * 1000)
                ),
                try ClusterPayloads.node(
                    named: "wyse", annotations: power.annotations(watts: 9.9, timestampMilliseconds: Int64(now - 40) * 1000)
                ),
                try ClusterPayloads.node(named: "rpi"),
            ],
        ]
        let scratch = try TemporaryDirectory()
        let path = scratch.path("nodes.json")
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: path))
        let arguments = [
            "score", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--profile", "sequential", "--weight", "0",
            "--nodes-file", path, "--now", "2026-02-01T12:00:00Z", "--format", "csv",
        ]
        let result = try await runBinary(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").dropFirst().map {
            Array($0.split(separator: ";", omittingEmptySubsequences: false).map(String.init).dropFirst())
        }
        // Node;Variant;Weight;LiveIdle;Marginal;PredTotal: tvpc fresh (5 s), wyse stale (40 s) and
        // rpi unannotated both fall back to idle power and P_proj = load power.
        #expect(
            rows.map { Array($0.prefix(6)) } == [
                ["tvpc", "tvpc-cpu", "0.0", "48.50", "27.46", "75.96"],
                ["tvpc", "tvpc-gpu", "0.0", "48.50", "40.40", "88.90"],
                ["wyse", "wyse-cpu", "0.0", "2.75", "2.28", "5.03"],
                ["rpi", "rpi-cpu", "0.0", "2.32", "0.48", "2.80"],
            ])
        let warnings = result.stderr.split(separator: "\n")
        #expect(warnings.count == 2, "\(result.stderr)")
        #expect(warnings.contains { $0.contains("power_stale") && $0.contains("\"wyse\"") })
        #expect(warnings.contains { $0.contains("power_missing") && $0.contains("\"rpi\"") })

        let overridden = try await runBinary(arguments + ["--watts", "wyse=3"])
        #expect(overridden.stdout.contains("\n;wyse;wyse-cpu;0.0;3.00;2.28;5.28;"), "\(overridden.stdout)")
    }

    @Test(
        "bad input ends with one clear line and a non-zero status",
        arguments: [
            (["--profile", "nope"], "--profile: nope: unknown profile (known: inference, sequential, training)"),
            (["--weight", "abc"], "--weight: \"abc\" is not a number between 0 and 1"),
            (["--weight", "1.5"], "--weight: \"1.5\" is not a number between 0 and 1"),
            (["--weight", "-0.1"], "--weight: \"-0.1\" is not a number between 0 and 1"),
            (["--weight", "0,5"], "--weight: \"0,5\" is not a number between 0 and 1"),
            (["--weight", "nan"], "--weight: \"nan\" is not a number between 0 and 1"),
            (["--watts", "tvpc"], "--watts: \"tvpc\" is not NODE=WATTS"),
            (["--watts", "tvpc=48.5,=3"], "--watts: \"=3\" is not NODE=WATTS"),
            (["--watts", "tvpc=abc"], "--watts: \"abc\" for node tvpc is not a non-negative number of watts"),
            (["--watts", "tvpc=-3"], "--watts: \"-3\" for node tvpc is not a non-negative number of watts"),
            (["--watts", "tvpc=1,tvpc=2"], "--watts: node tvpc given twice"),
            (["--knowledge-base", "/nonexistent/kb.yaml"], "--knowledge-base: /nonexistent/kb.yaml: cannot read"),
            (["--nodes-file", "/nonexistent/nodes.json"], "--nodes-file: cannot read /nonexistent/nodes.json"),
            (["--format", "xml"], "--format"),
            (["--now", "yesterday"], "--now: \"yesterday\" is neither unix seconds nor an RFC 3339 time"),
        ]
    )
    func badInput(override: [String], message: String) async throws {
        var arguments = Self.base + ["--watts", "tvpc=48.5"]
        if let index = arguments.firstIndex(of: override[0]) {
            arguments[index + 1] = override[1]
        } else {
            arguments += override
        }
        let result = try await runBinary(arguments)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "exactly one line: \(result.stderr)")
        #expect(result.stderr.hasPrefix("energy-monitor: error: "), "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("without any node source the command says what is missing")
    func noNodes() async throws {
        let result = try await runBinary(Self.base)
        #expect(result.status != 0)
        #expect(result.stderr.contains("no nodes to rank: give --watts, --nodes-file, --from-cluster or --nodes"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}

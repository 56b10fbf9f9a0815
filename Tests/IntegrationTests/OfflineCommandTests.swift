import Foundation
import TestSupport
import Testing

/// `workflow run --simulate` and `demo --cluster` as a user runs them: the built binary.
@Suite("Offline cluster commands", .serialized)
struct OfflineCommandTests {
    static let workflow = TestPaths.packageRoot.appendingPathComponent("workflows/thesis-workflow.yaml").path

    struct Feed: Decodable {
        struct Phase: Decodable {
            var run: Int
            var phase: String
            var node: String
            var weight: Double?
            var scheduler: String
            var joules: Double
            var durationSeconds: Double
            var simulated: Bool
        }
        var current: String?
        var phases: [Phase]
    }

    @Test("workflow run --simulate: the thesis's weight-0 placements, rows marked Simulated, a report that says so")
    func runSimulated() async throws {
        try TestPaths.requireBinary()
        let folder = try TemporaryDirectory("simulate")
        let output = folder.path("results.csv")
        let config = folder.path("footprint.yaml")
        try "carbon: {gramsPerKWh: 380}\nprice: {perKWh: 0.30, currency: EUR}\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let result = try await runBinary(
            [
                "workflow", "run", "--simulate", "--workflow", Self.workflow, "--knowledge-base",
                TestPaths.knowledgeBaseManifest, "--output", output, "--database", folder.path("energy.db"),
                "--scheduler", "energy", "--weight", "0", "--time-scale", "120", "--resting-watts", "wyse=10.8",
                "--capacity", "tvpc=8,16Gi", "--capacity", "rpi=4,1Gi", "--settle", "1s", "--config", config,
            ], timeout: .seconds(180))
        #expect(result.status == 0, "\(result.stderr)\n\(result.stdout.suffix(2000))")
        #expect(
            result.stdout.contains(
                "offline cluster: nodes tvpc (50.06 W at rest), wyse (10.80 W at rest), rpi (2.32 W at rest)"))
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(
            lines.first?.hasSuffix(
                ",IdleJoules,Simulated,BackfilledJoules,AttributedJoules,Kwh,GramsCO2e,Cost,Currency")
                == true)
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.map { $0[1] } == ["preprocessing", "train", "inference"])
        #expect(rows.map { $0[3] } == ["rpi", "tvpc", "tvpc"])
        // `Simulated`, then `BackfilledJoules` and `AttributedJoules` (empty: per-pod energy is off),
        // `Kwh`, then the emissions and cost at the --config file's 380 g/kWh and 0.30 EUR/kWh.
        #expect(rows.allSatisfy { $0.count == 18 && $0[11] == "yes" && $0[13].isEmpty && $0[17] == "EUR" })
        for row in rows {
            let kwh = try #require(Double(row[14]))
            #expect(abs(kwh - (Double(row[7]) ?? 0) / 3_600_000) < 1e-8, "\(row)")
            #expect(abs((Double(row[15]) ?? 0) - kwh * 380) < 1e-5 + kwh * 380 * 1e-9, "\(row)")
            #expect(abs((Double(row[16]) ?? 0) - kwh * 0.3) < 1e-7, "\(row)")
        }
        let page = folder.path("report.html")
        let report = try await runBinary(["workflow", "report", output, "--html", page])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("id=\"simulated\"") && html.contains("data-group=\"simulated:energy@0.0\""))
    }

    @Test(
        "bad offline input: one line and a non-zero exit",
        arguments: [
            (["--time-scale", "0"], "--time-scale"),
            (["--time-scale", "1e300"], "--time-scale"),
            (["--resting-watts", "wyse"], "--resting-watts"),
            (["--resting-watts", "wyse=1e999"], "--resting-watts"),
            (["--resting-watts", "nowhere=3"], "node nowhere is not in the knowledge base"),
            (["--capacity", "rpi=4"], "--capacity"),
            (["--capacity", "rpi=1e300,1Gi"], "--capacity"),
            (["--monitor", "http://127.0.0.1:1"], "--monitor does not go with --simulate"),
            (["--knowledge-base", "/nonexistent.yaml"], "--knowledge-base"),
            (["--background", "tvpc"], "--background"),
            (["--background", "tvpc=0"], "--background"),
            (["--background", "tvpc=1e300"], "--background"),
            (["--background", "nowhere=1"], "--background: node nowhere is not in the knowledge base"),
            (["--background", "tvpc=1", "--static-factor", "0"], "--static-factor"),
            (["--background", "tvpc=1", "--metrics-interval", "10ms"], "--metrics-interval"),
        ])
    func badInput(_ extra: [String], _ expected: String) async throws {
        try TestPaths.requireBinary()
        let folder = try TemporaryDirectory("simulate-bad")
        let result = try await runBinary(
            [
                "workflow", "run", "--simulate", "--workflow", Self.workflow, "--output", folder.path("r.csv"),
                "--scheduler", "energy", "--weight", "0", "--knowledge-base", TestPaths.knowledgeBaseManifest,
            ] + extra,
            timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("r.csv")))
    }

    @Test("workflow run --simulate --background: phases share tvpc; AttributedJoules is below Joules")
    func runShared() async throws {
        try TestPaths.requireBinary()
        let folder = try TemporaryDirectory("simulate-shared")
        let output = folder.path("results.csv")
        let result = try await runBinary(
            [
                "workflow", "run", "--simulate", "--workflow", Self.workflow, "--knowledge-base",
                TestPaths.knowledgeBaseManifest, "--output", output, "--database", folder.path("energy.db"),
                "--scheduler", "energy", "--weight", "1", "--time-scale", "30", "--capacity", "tvpc=8,16Gi",
                "--settle", "1s", "--background", "tvpc=2", "--metrics-interval", "1s",
            ], timeout: .seconds(300))
        #expect(result.status == 0, "\(result.stderr)\n\(result.stdout.suffix(2000))")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 3)
        for row in rows {
            let joules = try #require(Double(row[7]))
            let attributed = try #require(Double(row[13]), "\(row)")
            if row[3] == "tvpc" {
                // The background pod's 2 cores draw 20 W of the node's power: the phase's share is less.
                #expect(attributed < joules && attributed > 0.5 * joules, "\(row)")
            } else {
                // Alone on its node (the energy scheduler may avoid the busy tvpc): all of it.
                #expect(abs(attributed - joules) <= 0.01, "\(row)")
            }
        }
        // The monitor's database has the pods' rows: the background pod's and those of the
        // phases on tvpc.
        let onTVPC = rows.filter { $0[3] == "tvpc" }.count
        let sqlite = try await runProcess(
            "/usr/bin/sqlite3",
            [
                folder.path("energy.db"),
                "SELECT count(DISTINCT pod) FROM pod_energy WHERE kind = 'pod' AND node = 'tvpc'",
            ])
        #expect(
            Int(sqlite.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == onTVPC + 1, "\(sqlite.stdout)")
    }

    @Test("a phase without work: is refused before anything starts")
    func phaseWithoutWork() async throws {
        try TestPaths.requireBinary()
        let folder = try TemporaryDirectory("simulate-work")
        let workflow = try folder.write(
            """
            name: w
            phases:
              - { name: hash, profile: sequential, image: registry.example.lan/hash:1 }
            """, to: "w.yaml")
        let result = try await runBinary(
            [
                "workflow", "run", "--simulate", "--workflow", workflow, "--output", folder.path("r.csv"),
                "--scheduler",
                "energy", "--weight", "0", "--knowledge-base", TestPaths.knowledgeBaseManifest,
            ], timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(result.stderr.contains("hash: no work: for --simulate"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test(
        "demo --cluster from an empty folder (built-in workflow and knowledge base): placements and joules per phase on the dashboard, drawn by headless Chromium; screenshot kept"
    )
    func demoCluster() async throws {
        try TestPaths.requireBinary()
        let chromium = try #require(
            Tools.find("chromium", "chromium-browser", "google-chrome"), "chromium not found: run bash scripts/setup.sh"
        )
        let folder = try TestEnvironment.makeFolder("demo-cluster")
        let port = TestEnvironment.freePorts(1)
        let demo = try ChildProcess(
            TestPaths.binary,
            [
                "demo", "--cluster", "--listen", "127.0.0.1:\(port)", "--database", folder + "/energy.db",
                "--time-scale", "120", "--weights", "0,1", "--duration", "150",
            ], in: folder, name: "demo-cluster")
        defer {
            demo.end()
            try? FileManager.default.removeItem(atPath: folder)
        }
        let base = "http://127.0.0.1:\(port)"
        // Two runs: the energy scheduler at weight 0, then at weight 1.
        var feed: Feed?
        let done = await eventually(within: .seconds(120), every: .milliseconds(500)) {
            guard let response = await TestEnvironment.get("\(base)/api/v1/workflow"), response.status == 200 else {
                return false
            }
            feed = try? JSONDecoder().decode(Feed.self, from: Data(response.body))
            return (feed?.phases.count ?? 0) >= 6
        }
        try #require(
            done,
            "feed: \(String(describing: feed)) stderr: \(demo.stderr.suffix(2000)) stdout: \(demo.stdout.suffix(2000))")
        let phases = try #require(feed).phases
        #expect(phases.prefix(3).map(\.node) == ["rpi", "tvpc", "tvpc"])
        #expect(phases.prefix(3).allSatisfy { $0.weight == 0 && $0.run == 1 && $0.scheduler == "energy" })
        #expect(phases.dropFirst(3).prefix(3).map(\.node) == ["tvpc", "tvpc", "tvpc"])
        #expect(phases.dropFirst(3).prefix(3).allSatisfy { $0.weight == 1 && $0.run == 2 })
        #expect(phases.allSatisfy { $0.simulated && $0.joules > 0 && $0.durationSeconds > 0 })

        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", "--window-size=1280,1500", "--virtual-time-budget=6000",
        ]
        let dump = try await runProcess(
            chromium, common + ["--user-data-dir=\(folder)/profile-dom", "--dump-dom", "\(base)/"],
            timeout: .seconds(90))
        #expect(dump.status == 0, "chromium: \(dump.stderr.suffix(2000))")
        let dom = dump.stdout
        #expect(
            dom.contains("<section id=\"workflow\" class=\"panel\" aria-label=\"Workflow placements\">"),
            "section shown")
        #expect(
            dom.contains("<tr data-run=\"1\" data-phase=\"preprocessing\" data-node=\"rpi\" data-weight=\"0\""),
            "\(dom.suffix(4000))")
        #expect(dom.contains("<tr data-run=\"2\" data-phase=\"train\" data-node=\"tvpc\" data-weight=\"1\""))
        for phase in ["preprocessing", "train", "inference"] {
            #expect(dom.contains("<article class=\"phase-card\" data-phase=\"\(phase)\""), "card of \(phase)")
        }
        #expect(!dom.contains("cannot load placements"))

        let screenshot = try Tools.artifactsFolder().appendingPathComponent("demo-cluster.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await runProcess(
            chromium,
            common + ["--user-data-dir=\(folder)/profile-shot", "--screenshot=\(screenshot.path)", "\(base)/"],
            timeout: .seconds(90))
        #expect(shot.status == 0, "chromium: \(shot.stderr.suffix(2000))")
        let size = (try? Data(contentsOf: screenshot).count) ?? 0
        print("demo --cluster screenshot: \(screenshot.path) (\(size) bytes)")
        #expect(size > 20_000)
    }
}

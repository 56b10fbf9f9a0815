import ClusterSimulator
import EnergyModel
import Foundation
import JSON
import ShellySimulator
import Store
import Synchronization
import TestSupport
import Testing
import Workflow

#if canImport(Glibc)
    import Glibc
#endif

/// `energy-monitor workflow run|sweep|report`, the real binary: against the cluster
/// simulator (in this process, behind a TLS relay so that an ordinary kubeconfig reaches it)
/// and the monitor service polling `energy-monitor simulate`, whose `--record` file is the
/// ground truth the rows' joules are checked against.
@Suite("Workflow commands end to end", .serialized)
struct WorkflowCommandTests {
    /// How long each phase's pod runs, changeable while a test runs.
    final class Durations: Sendable {
        let milliseconds = Mutex<Int64>(6000)
        var current: Duration { .milliseconds(milliseconds.withLock { $0 }) }
        func set(_ value: Int64) { milliseconds.withLock { $0 = value } }
    }

    /// A cluster simulator with nodes `sim-0` and `sim-1` behind a TLS relay, and a kubeconfig.
    struct Cluster {
        let simulator: ClusterSimulator
        let relay: TLSRelay
        let kubeconfig: String

        func stop() async {
            relay.stop()
            await simulator.stop()
        }
    }

    /// Profiles to nodes, as a scheduler might decide: the energy-hungry phase on sim-1.
    static let placement = ["sequential": "sim-0", "training": "sim-1", "inference": "sim-0"]

    static func startCluster(durations: Durations, token: String = "wf-token") async throws -> Cluster {
        let lifecycle = ScriptedLifecycle(
            placement: { pod in
                .node(pod.requiredNodeNames?.first ?? placement[pod.labels["workload-profile"] ?? ""] ?? "sim-0")
            },
            run: { _, _ in PodRun(startDelay: .milliseconds(100), duration: durations.current) })
        let simulator = ClusterSimulator(
            configuration: .init(nodes: [SimulatedNode(name: "sim-0"), SimulatedNode(name: "sim-1")], token: token),
            lifecycle: lifecycle)
        let port = try await simulator.start()
        let relay = try TLSRelay(backend: port)
        return Cluster(simulator: simulator, relay: relay, kubeconfig: try relay.writeKubeconfig(token: token))
    }

    static let threePhases = """
        name: gt
        namespace: ml
        phases:
          - {name: preprocessing, profile: sequential, image: "busybox:1.36", command: [sh, -c, "sleep 5"]}
          - {name: train, profile: training, image: "busybox:1.36"}
          - {name: inference, profile: inference, image: "busybox:1.36"}
        """

    static let knowledgeBase = """
        sequential:
          - {nodeName: sim-0, performanceRate: 1, powerConsumptionWatts: 10, idlePowerWatts: 3}
        training:
          - {nodeName: sim-1, performanceRate: 1, powerConsumptionWatts: 10, idlePowerWatts: 4}
        inference:
          - {nodeName: sim-0, performanceRate: 1, powerConsumptionWatts: 10, idlePowerWatts: 3}
        """

    static func write(_ text: String, to path: String) throws -> String {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The simulator's served readings of `node`: (unix ms, watts), oldest first.
    static func served(_ path: String, node: String) throws -> [(Int64, Double)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line -> (Int64, Double)? in
            let parts = line.split(separator: ",")
            guard parts.count == 3, parts[0] == node, let ms = Int64(parts[1]), let watts = Double(parts[2]) else {
                return nil
            }
            return (ms, watts)
        }.sorted { $0.0 < $1.0 }
    }

    /// The ground truth: the trapezoidal integral of the served readings over `[from, to)`,
    /// interpolated at the edges. Written here on its own, not with the package's integrator.
    static func truth(_ points: [(Int64, Double)], from: Int64, to: Int64) -> Double {
        var joules = 0.0
        for (a, b) in zip(points, points.dropFirst()) where b.0 > a.0 {
            let start = max(a.0, from)
            let end = min(b.0, to)
            guard end > start else { continue }
            func watts(_ t: Int64) -> Double { a.1 + (b.1 - a.1) * Double(t - a.0) / Double(b.0 - a.0) }
            joules += (watts(start) + watts(end)) / 2 * Double(end - start) / 1000
        }
        return joules
    }

    @Test("workflow run: each row's joules within 0.5 % of the integral of what the plugs served; HTTP and store agree")
    func groundTruth() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("workflow-truth")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let record = folder + "/served.csv"
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: folder + "/energy.db", extra: ["--generations", "1,2", "--record", record])
        defer { service.stop() }
        let durations = Durations()
        let cluster = try await Self.startCluster(durations: durations)
        let workflow = try Self.write(Self.threePhases, to: folder + "/gt.yaml")
        let knowledge = try Self.write(Self.knowledgeBase, to: folder + "/profiles.yaml")
        let output = folder + "/results.csv"
        // The grid's intensity alternates between 100 and 500 g/kWh every 2.5 s: each phase's
        // GramsCO2e is integrated across several changes.
        let now = WallClock.nowMilliseconds() / 1000 * 1000
        let steps = (0..<800).map { index in
            StepSeries.Step(startMilliseconds: now - 60_000 + Int64(index) * 2500, value: index % 2 == 0 ? 100 : 500)
        }
        let rates = FootprintRates(intensity: StepSeries(steps: steps), tariff: Tariff(perKWh: 0.3, currency: "EUR"))
        let series = steps.map { String(format: "%.3f,%.0f", Double($0.startMilliseconds) / 1000, $0.value) }
        try ("timestamp,gramsPerKWh\n" + series.joined(separator: "\n") + "\n").write(
            toFile: folder + "/grid.csv", atomically: true, encoding: .utf8)
        let config = try Self.write(
            "carbon: {file: grid.csv}\nprice: {perKWh: 0.30, currency: EUR}\n", to: folder + "/footprint.yaml")
        let result = try await runBinary(
            [
                "workflow", "run", "--workflow", workflow, "--scheduler", "energy", "--weight", "0.25", "--output",
                output,
                "--monitor", service.base, "--kubeconfig", cluster.kubeconfig, "--knowledge-base", knowledge,
                "--config", config,
            ],
            timeout: .seconds(180))
        let pods = await cluster.simulator.pods()
        await cluster.stop()
        #expect(result.status == 0, "workflow run: \(result.stderr)\n\(result.stdout)")
        print(result.stdout)
        let rows = try ResultFile.read(output)
        #expect(rows.map(\.phase) == ["preprocessing", "train", "inference"])
        #expect(rows.map(\.node) == ["sim-0", "sim-1", "sim-0"])
        for row in rows {
            let pod = try #require(
                pods.first { $0.labels["energy-monitor/phase"] == row.phase && $0.phase == .succeeded })
            // The window the API shows: container times in whole seconds.
            let from = (pod.startedMilliseconds ?? 0) / 1000 * 1000
            let to = (pod.finishedMilliseconds ?? 0) / 1000 * 1000
            #expect(row.durationSeconds == Double(to - from) / 1000)
            let exact = Self.truth(try Self.served(record, node: row.node), from: from, to: to)
            let error = 100 * (row.joules - exact) / exact
            print(
                String(
                    format:
                        "workflow ground truth %@ on %@: %.2f J in the row, %.2f J served, error %+.3f %%, coverage %.1f %%",
                    row.phase, row.node, row.joules, exact, error, row.coveragePercent ?? 0))
            #expect(abs(error) < 0.5, "\(row.phase): \(row.joules) J, ground truth \(exact) J")
            #expect((row.coveragePercent ?? 0) > 99)
            // Emissions and cost: each piece between minute boundaries and changes of intensity
            // at its intensity, against the same pieces of what the plugs served.
            let cuts = rates.cuts(from: from, to: to)
            #expect(cuts.count >= 3, "\(row.phase): no change of intensity inside the phase")
            let served = try Self.served(record, node: row.node)
            let truthGrams = (0..<(cuts.count - 1)).reduce(0.0) { sum, index in
                sum + Self.truth(served, from: cuts[index], to: cuts[index + 1])
                    * (rates.intensity?.value(at: cuts[index]) ?? .nan) / 3_600_000
            }
            let grams = try #require(row.gramsCO2e, "\(row.phase): no GramsCO2e")
            print(
                String(
                    format: "workflow ground truth %@: %.6f g CO2e in the row, %.6f g served, over %d pieces",
                    row.phase, grams, truthGrams, cuts.count - 1))
            #expect(abs(grams - truthGrams) / truthGrams < 0.01, "\(row.phase): \(grams) g, \(truthGrams) g served")
            #expect(abs((row.kwh ?? 0) - row.joules / 3_600_000) < 1e-8)
            #expect(abs((row.cost ?? 0) - row.joules / 3_600_000 * 0.3) < 1e-7 && row.currency == "EUR")
            #expect(row.scheduler == .energy && row.weight == 0.25)
            let idle = row.node == "sim-1" ? 4.0 : 3.0
            #expect(
                abs(
                    (row.idleJoules ?? 0) - (row.joules - idle * row.durationSeconds * (row.coveragePercent ?? 0) / 100)
                ) < 0.02)
            // GET /api/v1/energy answers what `energy --format json` answers for the window.
            let query = String(format: "node=%@&from=%.3f&to=%.3f", row.node, Double(from) / 1000, Double(to) / 1000)
            let http = await TestEnvironment.getText(service.base + "/api/v1/energy?" + query)
            let cli = try await runBinary(
                [
                    "energy", "--database", folder + "/energy.db", "--node", row.node, "--from",
                    String(format: "%.3f", Double(from) / 1000),
                    "--to", String(format: "%.3f", Double(to) / 1000), "--format", "json",
                ])
            #expect(http == cli.stdout.trimmingCharacters(in: .newlines), "HTTP \(http) vs CLI \(cli.stdout)")
        }
        #expect(
            result.stdout.contains("train: Job gt-train-") && result.stdout.contains("run ")
                && result.stdout.contains("finished"))

        // The same accounting from the store directly, twice in a row.
        durations.set(3000)
        let again = try await Self.startCluster(durations: durations)
        let single = try Self.write(
            "name: one\nnamespace: ml\nphases: [{name: train, profile: training, image: x}]\n", to: folder + "/one.yaml"
        )
        let local = try await runBinary(
            [
                "workflow", "run", "--workflow", single, "--scheduler", "standard", "--weight", "1", "--repeat", "2",
                "--output", output,
                "--database", folder + "/energy.db", "--kubeconfig", again.kubeconfig, "--config", config,
            ],
            timeout: .seconds(120))
        let localPods = await again.simulator.pods()
        await again.stop()
        #expect(local.status == 0, "workflow run --database: \(local.stderr)")
        let all = try ResultFile.read(output)
        #expect(all.count == 5)
        let succeeded = localPods.filter { $0.phase == .succeeded }
        #expect(succeeded.count == 2)
        for (row, pod) in zip(all.suffix(2), succeeded) {
            #expect(row.scheduler == .standard && row.idleJoules == nil)
            let from = (pod.startedMilliseconds ?? 0) / 1000 * 1000
            let to = (pod.finishedMilliseconds ?? 0) / 1000 * 1000
            let exact = Self.truth(try Self.served(record, node: row.node), from: from, to: to)
            print(
                String(
                    format: "workflow ground truth (--database) %@: %.2f J, served %.2f J, error %+.3f %%", row.node,
                    row.joules, exact, 100 * (row.joules - exact) / exact))
            #expect(abs(row.joules - exact) / exact < 0.005)
            // The store's pieces give the same emissions as the served power's.
            let cuts = rates.cuts(from: from, to: to)
            let served = try Self.served(record, node: row.node)
            let truthGrams = (0..<(cuts.count - 1)).reduce(0.0) { sum, index in
                sum + Self.truth(served, from: cuts[index], to: cuts[index + 1])
                    * (rates.intensity?.value(at: cuts[index]) ?? .nan) / 3_600_000
            }
            let grams = try #require(row.gramsCO2e, "no GramsCO2e from the store")
            #expect(abs(grams - truthGrams) / truthGrams < 0.01, "--database: \(grams) g, \(truthGrams) g served")
        }
        #expect(localPods.allSatisfy { $0.schedulerName == "default-scheduler" })
    }

    @Test("workflow run: the row of a phase spanning a monitor restart has the gap's joules, backfilled, and says so")
    func phaseAcrossMonitorRestart() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("workflow-restart")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: folder + "/energy.db", extra: ["--generations", "1,2"])
        defer { service.stop() }
        let durations = Durations()
        durations.set(30_000)
        let cluster = try await Self.startCluster(durations: durations)
        let workflow = try Self.write(
            "name: rs\nnamespace: ml\nphases: [{name: train, profile: training, image: x}]\n", to: folder + "/rs.yaml")
        let output = folder + "/results.csv"
        let run = try ChildProcess(
            TestPaths.binary,
            [
                "workflow", "run", "--workflow", workflow, "--scheduler", "standard", "--weight", "1", "--output",
                output,
                "--monitor", service.base, "--kubeconfig", cluster.kubeconfig,
            ], in: folder, name: "workflow")
        let running = await eventually(within: .seconds(60)) {
            await cluster.simulator.pods().contains { $0.phase == .running }
        }
        try #require(running, "no pod ran: \(run.output)")
        // The monitor killed a few seconds into the phase, down for 10 s, started again.
        try await Task.sleep(for: .seconds(3))
        kill(service.monitor.pid, SIGKILL)
        _ = await service.monitor.waitForExit(timeout: .seconds(10))
        try await Task.sleep(for: .seconds(10))
        service.monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run2")
        let status = await run.waitForExit(timeout: .seconds(120))
        let pods = await cluster.simulator.pods()
        await cluster.stop()
        #expect(status == 0, "workflow run: \(run.output)\nmonitor: \(service.monitor.stderr.suffix(1500))")
        let row = try #require(try ResultFile.read(output).first)
        let pod = try #require(pods.first { $0.phase == .succeeded })
        let from = (pod.startedMilliseconds ?? 0) / 1000 * 1000
        let to = (pod.finishedMilliseconds ?? 0) / 1000 * 1000
        let index = try #require(Int(row.node.dropFirst("sim-".count)))
        let exact = LoadProfile.generic(index: index).exactJoules(from: Double(from) / 1000, to: Double(to) / 1000)
        let error = 100 * (row.joules - exact) / exact
        print(
            String(
                format: "workflow phase across a monitor restart on %@: %.2f J (%.2f J backfilled), exact %.2f J, "
                    + "error %+.3f %%, coverage %.1f %%",
                row.node, row.joules, row.backfilledJoules ?? 0, exact, error, row.coveragePercent ?? 0))
        #expect((row.backfilledJoules ?? 0) > 0, "\(row)")
        #expect((row.coveragePercent ?? 100) < 75, "\(row)")
        // Without the gap's energy the row would be a third short. The counter that bridges it
        // reads in whole mWh (3.6 J, about 1 % of a quiet phase), and the measured seconds come
        // from a power the plug reports to 0.1 W (0.05 W off at most): within 0.5 %, one mWh and
        // 0.05 W over the measured seconds.
        let measuredSeconds = Double(to - from) / 1000 * (row.coveragePercent ?? 100) / 100
        #expect(
            abs(row.joules - exact) <= exact * 0.005 + 3.6 + 0.05 * measuredSeconds,
            "\(row.joules) J, exact \(exact) J")
        #expect(run.stdout.contains("backfilled from the plug's own figures"), "\(run.stdout)")
    }

    @Test(
        "workflow sweep: the whole matrix; Ctrl-C deletes the running Job and exits 130; started again, it runs only what is missing"
    )
    func sweepResumes() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("workflow-sweep")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: folder + "/energy.db", extra: [])
        defer { service.stop() }
        let durations = Durations()
        durations.set(1200)
        let cluster = try await Self.startCluster(durations: durations)
        let workflow = try Self.write(
            "name: sw\nnamespace: ml\nphases: [{name: only, profile: training, image: x}]\n", to: folder + "/sw.yaml")
        let output = folder + "/results.csv"
        let common = [
            "workflow", "sweep", "--workflow", workflow, "--weights", "0,1", "--schedulers", "energy,standard",
            "--output", output,
            "--monitor", service.base, "--kubeconfig", cluster.kubeconfig, "--settle", "1s",
        ]
        let first = try await runBinary(common + ["--repeat", "1"], timeout: .seconds(180))
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("sweep: 4 runs, 0 in \(output) already, 4 to go"), "\(first.stdout)")
        var rows = try ResultFile.read(output)
        #expect(
            rows.map { "\($0.scheduler?.rawValue ?? "")@\($0.weight ?? -1)" } == [
                "energy@0.0", "standard@0.0", "energy@1.0", "standard@1.0",
            ])

        // The second repetition, interrupted while its first run's pod runs.
        durations.set(60_000)
        let jobsBefore = await cluster.simulator.jobs().count
        let sweep = try ChildProcess(TestPaths.binary, common + ["--repeat", "2"], in: folder, name: "sweep")
        let running = await eventually(within: .seconds(60)) {
            await cluster.simulator.pods().contains { $0.phase == .running }
        }
        try #require(running, "no pod ran: \(sweep.output)")
        kill(sweep.pid, SIGINT)
        let status = await sweep.waitForExit(timeout: .seconds(60))
        #expect(status == 130, "exit \(String(describing: status)): \(sweep.output)")
        #expect(
            sweep.stderr.split(separator: "\n").count == 1
                && sweep.stderr.hasPrefix("energy-monitor: error: interrupted"), "\(sweep.stderr)")
        #expect(sweep.stdout.contains("sweep: 8 runs, 4 in \(output) already, 4 to go"), "\(sweep.stdout)")
        let jobs = await cluster.simulator.jobs()
        #expect(jobs.count == jobsBefore, "the interrupted run's Job was not deleted: \(jobs.map(\.name))")
        #expect(!(await cluster.simulator.pods()).contains { $0.phase == .running })
        #expect(try ResultFile.read(output).count == 4)

        durations.set(1200)
        let resumed = try await runBinary(common + ["--repeat", "2"], timeout: .seconds(180))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("sweep: 8 runs, 4 in \(output) already, 4 to go"), "\(resumed.stdout)")
        #expect(resumed.stdout.components(separatedBy: "skipped: ").count - 1 == 4)
        rows = try ResultFile.read(output)
        #expect(WorkflowSweep.completed(in: rows, phases: ["only"]).values.sorted() == [2, 2, 2, 2])
        let again = try await runBinary(common + ["--repeat", "2"], timeout: .seconds(60))
        await cluster.stop()
        #expect(again.stdout.contains("8 in \(output) already, 0 to go"), "\(again.stdout) \(again.stderr)")
    }

    @Test(
        "workflow report: our rows and the thesis's files on one page; headless Chromium renders both plots; screenshot kept"
    )
    func report() async throws {
        try TestPaths.requireBinary()
        let chromium = try #require(
            Tools.find("chromium", "chromium-browser", "google-chrome"), "chromium not found: run bash scripts/setup.sh"
        )
        let folder = try TemporaryDirectory("workflow-report")
        let ours = folder.path("results.csv")
        var runGrams: [String: [Double]] = [:]
        // A sweep's worth of rows: the energy scheduler saves energy at low weights and loses time.
        var seed: UInt64 = 7
        func noise() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 40) / Double(1 << 24) - 0.5
        }
        for repetition in 0..<3 {
            for weight in [0.0, 0.5, 1.0] {
                for scheduler in [SchedulerChoice.energy, .standard] {
                    let timestamp = "2026-03-0\(repetition + 1)T1\(Int(weight * 2)):0\(scheduler == .energy ? 0 : 5):00"
                    let onPi = scheduler == .energy && weight < 0.75
                    let phases: [(String, String, Double, Double)] = [
                        ("preprocessing", onPi ? "rpi" : "tvpc", onPi ? 780 : 63, onPi ? 2.9 : 80),
                        ("train", "tvpc", 122, 178), ("inference", "tvpc", scheduler == .energy ? 71 : 143, 100),
                    ]
                    var grams = 0.0
                    for (phase, node, seconds, watts) in phases {
                        let duration = seconds * (1 + 0.04 * noise())
                        var row = ResultRow(
                            timestamp: timestamp, phase: phase, weight: weight, node: node, profile: nil,
                            durationSeconds: duration,
                            averageWatts: watts, joules: watts * duration, scheduler: scheduler,
                            coveragePercent: 100, idleJoules: nil)
                        // The energy scheduler's runs met a cleaner grid (200 g/kWh against 400), at 0.30 EUR/kWh.
                        row.kwh = watts * duration / 3_600_000
                        row.gramsCO2e = (row.kwh ?? 0) * (scheduler == .energy ? 200 : 400)
                        row.cost = (row.kwh ?? 0) * 0.3
                        row.currency = "EUR"
                        grams += row.gramsCO2e ?? 0
                        try ResultFile.append(row, to: ours)
                    }
                    let key = scheduler == .energy ? "energy@\(WorkflowRun.weightText(weight))" : "standard"
                    runGrams[key, default: []].append(grams)
                }
            }
        }
        var files = [ours]
        if TestPaths.thesisTestsEnabled {
            files += try ["thesis_results.csv", "results_baseline.csv"].map { try TestPaths.thesisFile($0) }
        } else {
            print("../shared/thesis is absent: the report is drawn from our rows only")
        }
        let html = folder.path("report.html")
        let result = try await runBinary(["workflow", "report"] + files + ["--html", html])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("wrote \(html): "), "\(result.stdout)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        for group in ["energy@0.0", "energy@0.5", "energy@1.0", "standard"] {
            #expect(page.contains("data-group=\"\(group)\""), "\(group)")
        }
        #expect(!page.contains("<script"))

        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions", "--window-size=1200,2400", "--virtual-time-budget=3000",
        ]
        let dump = try await runProcess(
            chromium, common + ["--user-data-dir=\(folder.path("profile-dom"))", "--dump-dom", "file://\(html)"],
            timeout: .seconds(90))
        #expect(dump.status == 0, "chromium: \(dump.stderr.suffix(1500))")
        #expect(dump.stdout.components(separatedBy: "<svg").count - 1 == 2, "the DOM has not both plots")
        #expect(dump.stdout.components(separatedBy: "class=\"mean\"").count - 1 == 4)
        // The CO2e rows: per scheduler and weight the mean grams over the repetitions, and the saving
        // against the default scheduler's runs with its spread.
        let footprint = try #require(
            dump.stdout.components(separatedBy: "<table id=\"footprint\">").dropFirst().first?
                .components(separatedBy: "</table>").first, "no emissions table in the DOM")
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        let baseline = mean(runGrams["standard"] ?? [])
        for (group, grams) in runGrams {
            let row = try #require(
                footprint.components(separatedBy: "<tr data-group=\"\(group)\">").dropFirst().first?
                    .components(separatedBy: "</tr>").first, "no CO2e row of \(group)")
            #expect(row.contains("<td class=\"co2\">\(String(format: "%.1f", mean(grams))) ± "), "\(group): \(row)")
            #expect(row.contains(" EUR</td>"), "\(group): \(row)")
            let saved = row.components(separatedBy: "<td class=\"co2-saved\">").dropFirst().first ?? ""
            if group == "standard" {
                #expect(saved.hasPrefix("–"), "\(row)")
            } else {
                #expect(
                    saved.hasPrefix("<span class=\"good\">\(String(format: "%+.1f", baseline - mean(grams))) g ± "),
                    "\(group): \(saved.prefix(120))")
            }
        }
        #expect(runGrams.count == 4)
        let screenshot = try Tools.artifactsFolder().appendingPathComponent("workflow-report.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await runProcess(
            chromium,
            common + [
                "--user-data-dir=\(folder.path("profile-shot"))", "--screenshot=\(screenshot.path)", "file://\(html)",
            ],
            timeout: .seconds(90))
        #expect(shot.status == 0, "chromium: \(shot.stderr.suffix(1500))")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 30_000, "screenshot \(png.count) bytes")
        print("workflow report screenshot: \(screenshot.path) (\(png.count) bytes)")
    }

    @Test("bad input of every kind: one line on standard error, a non-zero exit, and for a 403 the RBAC file to apply")
    func badInput() async throws {
        try TestPaths.requireBinary()
        let folder = try TemporaryDirectory("workflow-bad")
        let database = folder.path("energy.db")
        try EnergyStoreFile.make(database)
        let workflow = try folder.write(
            "name: bad\nnamespace: ml\nphases: [{name: a, profile: p, image: x}]\n", to: "w.yaml")
        let broken = try folder.write("name: bad\nphases:\n  - profile: p\n    image: x\n", to: "broken.yaml")
        let foreign = try folder.write("Timestamp,Phase,Scheduler,Node,Duration,AvgWatts,Joules\n", to: "baseline.csv")
        let badRows = try folder.write("Timestamp,Phase,Node,Duration,Joules\nt,p,n,ten,1\n", to: "bad.csv")
        let run = [
            "workflow", "run", "--workflow", workflow, "--scheduler", "energy", "--weight", "0.5", "--output",
            folder.path("o.csv"),
        ]
        let cases: [([String], String)] = [
            (run, "give either --monitor URL or --database FILE"),
            (
                run + ["--database", database, "--monitor", "http://127.0.0.1:1"],
                "give either --monitor URL or --database FILE"
            ),
            (
                [
                    "workflow", "run", "--workflow", workflow, "--scheduler", "kube", "--weight", "0.5", "--output",
                    "o.csv", "--database", database,
                ], "--scheduler: \"kube\""
            ),
            (
                [
                    "workflow", "run", "--workflow", workflow, "--scheduler", "energy", "--weight", "2", "--output",
                    "o.csv", "--database", database,
                ], "--weight: 2.0 is outside 0...1"
            ),
            (run + ["--database", database, "--repeat", "0"], "--repeat: 0 is outside 1...1000"),
            (run + ["--database", database, "--phase-timeout", "5"], "--phase-timeout"),
            (run + ["--database", database, "--namespace", "Not_OK"], "--namespace: \"Not_OK\""),
            (run + ["--monitor", "ftp://x"], "--monitor: \"ftp://x\" is not an http:// URL"),
            (run + ["--monitor", "http://127.0.0.1:\(TestEnvironment.freePorts(1))"], "--monitor http://127.0.0.1:"),
            (run + ["--database", folder.path("missing.db")], "--database: "),
            (
                [
                    "workflow", "run", "--workflow", broken, "--scheduler", "energy", "--weight", "0", "--output",
                    "o.csv", "--database", database,
                ], "broken.yaml: phases[0].name: missing"
            ),
            (
                [
                    "workflow", "run", "--workflow", workflow, "--scheduler", "energy", "--weight", "0", "--output",
                    foreign, "--database", database,
                ], "--output: "
            ),
            (run + ["--database", database, "--knowledge-base", folder.path("none.yaml")], "--knowledge-base: "),
            (run + ["--database", database, "--kubeconfig", folder.path("none")], "kubeconfig"),
            (
                [
                    "workflow", "sweep", "--workflow", workflow, "--output", "o.csv", "--database", database,
                    "--weights", "0,0",
                ], "--weights: 0 is given twice"
            ),
            (
                [
                    "workflow", "sweep", "--workflow", workflow, "--output", "o.csv", "--database", database,
                    "--weights", "0,x",
                ], "--weights: \"x\" is not a weight"
            ),
            (
                [
                    "workflow", "sweep", "--workflow", workflow, "--output", "o.csv", "--database", database,
                    "--schedulers", "energy,kube",
                ], "--schedulers: \"kube\""
            ),
            (["workflow", "report", "--html", folder.path("r.html")], "Missing expected argument '<files> ...'"),
            (
                ["workflow", "report", badRows, "--html", folder.path("r.html")],
                "bad.csv: line 2: Duration \"ten\" is not a number"
            ),
            (["workflow", "report", foreign, "--html", folder.path("r.html")], "no complete workflow run"),
            (
                ["workflow", "report", folder.path("none.csv"), "--html", folder.path("r.html")],
                "none.csv: cannot read: no such file"
            ),
        ]
        for (arguments, message) in cases {
            let result = try await runBinary(arguments, timeout: .seconds(60))
            let lines = result.stderr.split(separator: "\n")
            #expect(result.status != 0, "\(arguments.joined(separator: " ")): exit 0")
            #expect(
                lines.count == 1 && lines.first?.hasPrefix("energy-monitor: error: ") == true,
                "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments.suffix(4)): \(result.stderr) does not say \(message)")
        }
        // 403 through the binary: the RBAC hint.
        let cluster = try await Self.startCluster(durations: Durations())
        await cluster.simulator.forbid("create", "jobs")
        let forbidden = try await runBinary(
            run + ["--database", database, "--kubeconfig", cluster.kubeconfig], timeout: .seconds(60))
        await cluster.stop()
        #expect(forbidden.status == 1)
        #expect(
            forbidden.stderr.contains("HTTP 403 Forbidden") && forbidden.stderr.contains("k8s/workflow/rbac.yaml"),
            "\(forbidden.stderr)")
        #expect(forbidden.stderr.split(separator: "\n").count == 1, "\(forbidden.stderr)")
        #expect(
            !forbidden.stderr.contains("wf-token") && !forbidden.stdout.contains("wf-token"),
            "the token reached the output")
    }
}

/// An empty store file for commands that need one.
enum EnergyStoreFile {
    static func make(_ path: String) throws {
        try Store.EnergyStore(path: path).close()
    }
}

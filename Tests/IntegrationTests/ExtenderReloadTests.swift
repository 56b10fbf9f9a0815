import CurlClient
import Foundation
import Scoring
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The running extender's knowledge base replaced by hostile files, through the real binary: a
/// FIFO (which blocked the reloader in `open()` for good), an alias bomb (which took minutes
/// and a core), then a good file. The metrics say what happened, requests keep the last good
/// version, the good file loads, and SIGTERM ends the process at once.
@Suite(
    "Extender reload of hostile files",
    .enabled(
        if: TestPaths.binaryAvailable,
        "build the tool first (swift build --product energy-monitor): .build/debug/energy-monitor is absent")
)
struct ExtenderReloadTests {
    /// A two-node profile where `a` wins on energy; `aPerformance` moves the ranking.
    static func profiles(aPerformance: Double) -> String {
        """
        sequential:
          - { nodeName: a-cpu, performanceRate: \(aPerformance), powerConsumptionWatts: 10, idlePowerWatts: 5 }
          - { nodeName: b-cpu, performanceRate: 50, powerConsumptionWatts: 10, idlePowerWatts: 5 }

        """
    }

    static let body = Array(
        try! JSONEncoder().encode(
            ExtenderArgs(
                pod: ExtenderPod(
                    metadata: ObjectMetadata(
                        name: "job", labels: ["app": "ml-workflow", "workload-profile": "sequential"],
                        annotations: ["scheduler.policy/performance-weight": "0"])),
                nodes: ExtenderNodeList(items: [ExtenderNode(name: "a"), ExtenderNode(name: "b")]), nodeNames: nil)))

    /// The extender on a free port with a fast reload interval, and its base URL.
    static func start(_ knowledgeBase: String, in folder: String) async throws -> (ChildProcess, String) {
        let extender = try ChildProcess(
            TestPaths.binary,
            ["extender", "--knowledge-base", knowledgeBase, "--listen", "127.0.0.1:0", "--reload-interval", "0.1"],
            in: folder, name: "extender")
        var base: String?
        _ = await eventually(within: .seconds(20)) {
            base = extender.stdout.split(separator: "\n").first { $0.hasPrefix("extender listening on ") }
                .map { String($0.dropFirst("extender listening on ".count)) }
            return base != nil || !extender.isRunning
        }
        return (extender, try #require(base, "extender not listening: \(extender.output)"))
    }

    static func metric(_ base: String, _ series: String) async -> Double? {
        let text = await TestEnvironment.getText(base + "/metrics")
        return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.dropFirst(series.count + 1))
        }
    }

    static func scores(_ base: String) async throws -> [Int] {
        let response = try await TestEnvironment.client.perform(
            HTTPRequest(
                url: base + "/scheduler/prioritize", method: "POST", headers: ["Content-Type: application/json"],
                body: body,
                timeoutMilliseconds: 30_000))
        #expect(response.status == 200)
        return try JSONDecoder().decode([HostPriority].self, from: Data(response.body)).map(\.score)
    }

    static let errors = #"energy_monitor_knowledge_base_reloads_total{result="error"}"#
    static let loads = #"energy_monitor_knowledge_base_reloads_total{result="ok"}"#
    static let valid = "energy_monitor_knowledge_base_valid"

    @Test(
        "a FIFO, then an alias bomb, then a good file: counted, the last good version served, then the new one; SIGTERM ends it"
    )
    func fifoBombThenGood() async throws {
        let scratch = try TemporaryDirectory()
        let path = try scratch.write(Self.profiles(aPerformance: 100), to: "profiles.yaml")
        let (extender, base) = try await Self.start(path, in: scratch.path)
        defer { extender.stop(grace: .seconds(1)) }
        #expect(try await Self.scores(base) == [10, 5])

        // A FIFO in place of the file: refused as such (not waited on), the old version stays.
        // Put in place in one step: a reload between a removal and a mkfifo would see a
        // missing file first and count two errors.
        #expect(mkfifo(path + ".fifo", 0o600) == 0)
        #expect(rename(path + ".fifo", path) == 0)
        let fifoSeen = await eventually(within: .seconds(10)) {
            let errors = await Self.metric(base, Self.errors)
            let valid = await Self.metric(base, Self.valid)
            return errors == 1 && valid == 0
        }
        #expect(fifoSeen, "the FIFO was not reported: \(extender.stderr)")
        #expect(try await Self.scores(base) == [10, 5])
        #expect(extender.stderr.contains("a FIFO (named pipe), not a regular file"))

        // An alias bomb (10^9 values in a few hundred bytes), renamed over the FIFO.
        try scratch.write(AliasBomb.asKey(depth: 9), to: "profiles.yaml")
        let bombSeen = await eventually(within: .seconds(10)) { await Self.metric(base, Self.errors) == 2 }
        #expect(bombSeen, "the alias bomb was not reported: \(extender.stderr)")
        #expect(await Self.metric(base, Self.valid) == 0)
        #expect(try await Self.scores(base) == [10, 5])
        #expect(extender.stderr.contains("refused as an alias bomb"))

        // A good edit loads again.
        try scratch.write(Self.profiles(aPerformance: 10), to: "profiles.yaml")
        let loaded = await eventually(within: .seconds(10)) { (try? await Self.scores(base)) == [2, 10] }
        #expect(loaded, "the good file was not loaded: \(extender.stderr)")
        #expect(await Self.metric(base, Self.loads) == 1)
        #expect(await Self.metric(base, Self.valid) == 1)
        #expect(await Self.metric(base, "energy_monitor_knowledge_base_generation") == 2)
        #expect(await Self.metric(base, Self.errors) == 2)

        #expect(extender.stop(grace: .seconds(10)) == 0, "SIGTERM did not end the extender: \(extender.stderr)")
    }

    @Test("SIGTERM ends the extender while a FIFO sits where the knowledge base was")
    func sigtermWithFifo() async throws {
        let scratch = try TemporaryDirectory()
        let path = try scratch.write(Self.profiles(aPerformance: 100), to: "profiles.yaml")
        let (extender, base) = try await Self.start(path, in: scratch.path)
        defer { extender.stop(grace: .seconds(1)) }
        // Put in place in one step (as the kubelet swaps a ConfigMap's files): a reload between
        // a removal and a mkfifo would see a missing file first and count two changes.
        #expect(mkfifo(path + ".fifo", 0o600) == 0)
        #expect(rename(path + ".fifo", path) == 0)
        let seen = await eventually(within: .seconds(10)) { await Self.metric(base, Self.errors) == 1 }
        #expect(seen, "the FIFO was not reported: \(extender.stderr)")
        // Polls go on every 100 ms against the FIFO; none may keep the process alive.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await Self.metric(base, Self.errors) == 1, "a FIFO that stays is counted once")
        #expect(extender.stop(grace: .seconds(10)) == 0, "SIGTERM did not end the extender: \(extender.stderr)")
    }
}

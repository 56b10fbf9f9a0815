import Foundation
import TestSupport
import Testing

/// `energy-monitor bench` with tiny sizes prints every figure with a number. No timing
/// thresholds: the figures depend on the machine; the test checks that each is measured.
@Suite("Bench command", .serialized)
struct BenchCommandTests {
    @Test("every figure line is printed with a number")
    func figures() async throws {
        let folder = try TestEnvironment.makeFolder("bench")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await runProcess(
            TestPaths.binary,
            [
                "bench", "--nodes", "20", "--ticks", "5", "--plugs", "20", "--seconds", "3",
                "--load-seconds", "1", "--load-connections", "4", "--folder", folder, "--with-auth",
            ],
            // Generous: every phase waits for its service, and a loaded machine can take
            // minutes for them; no verdict here is about time.
            timeout: .seconds(600)
        )
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        /// The number right after "PREFIX: ", or nil.
        func figure(_ prefix: String) -> Double? {
            guard let line = lines.first(where: { $0.hasPrefix(prefix + ": ") }) else { return nil }
            var text = line.dropFirst(prefix.count + 2)
            if text.hasPrefix("median ") { text = text.dropFirst(7) }
            return Double(text.prefix { $0.isNumber || $0 == "." }.description)
        }
        var required = [
            "store ingest", "bytes per sample", "24 h energy query, one node",
            "/metrics requests/s, energy-monitor",
        ]
        for transport in ["http", "websocket"] {
            required += [
                "poll ticks delivered, 20 plugs, \(transport)", "poll CPU, 20 plugs, \(transport)",
                "simulator CPU, 20 plugs, \(transport)",
                "resident memory, 20 plugs, \(transport)", "tick timing error p50, 20 plugs, \(transport)",
                "tick timing error p99, 20 plugs, \(transport)", "requests per sample, 20 plugs, \(transport)",
            ]
        }
        if Tools.find("prometheus-node-exporter") != nil {
            required += ["/metrics requests/s, prometheus-node-exporter textfile", "/metrics requests/s ratio"]
        } else {
            #expect(
                lines.contains { $0.hasPrefix("/metrics requests/s, prometheus-node-exporter textfile: not measured") })
        }
        for prefix in required {
            #expect(figure(prefix) != nil, "no number for \"\(prefix)\" in:\n\(result.stdout)")
        }
        // The service stored every tick of 20 healthy plugs at least partly, and used some CPU.
        #expect((figure("poll ticks delivered, 20 plugs, http") ?? 0) > 0)
        #expect((figure("poll ticks delivered, 20 plugs, websocket") ?? 0) > 0)
        #expect((figure("resident memory, 20 plugs, websocket") ?? 0) > 0)
        // Resident memory split into anonymous and file-backed, which add up to it (shared
        // memory aside: none here), and the CPU per tick with the thread wake-ups behind it.
        for transport in ["http", "websocket"] {
            let memory = lines.first { $0.hasPrefix("resident memory, 20 plugs, \(transport): ") } ?? ""
            let parts = memory.split(separator: ";").last?.split(separator: ",") ?? []
            let split = parts.compactMap {
                Double($0.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber || $0 == "." })
            }
            let resident = figure("resident memory, 20 plugs, \(transport)") ?? 0
            #expect(split.count == 2 && split.allSatisfy { $0 > 0 }, "\(memory)")
            #expect(abs(split.reduce(0, +) - resident) <= 0.2, "\(memory)")
            // Of that, what the service touched over the window: some of each kind, no more
            // than was resident at the end (pages touched and let go aside: none at 20 plugs).
            let working = lines.first { $0.hasPrefix("working set, 20 plugs, \(transport): ") } ?? ""
            let touched = working.matches(of: /([0-9.]+) MiB/).compactMap { Double($0.output.1) }
            #expect(touched.count == 3, "\(working)")
            if touched.count == 3, split.count == 2 {
                #expect(touched[1] > 0 && touched[2] > 0, "\(working)")
                #expect(abs(touched[1] + touched[2] - touched[0]) <= 0.2, "\(working)")
                #expect(touched[0] <= resident + 0.2, "\(working) against \(memory)")
            }
            let cpu = lines.first { $0.hasPrefix("poll CPU, 20 plugs, \(transport): ") } ?? ""
            #expect(cpu.contains(" ms per tick, ") && cpu.contains(" thread wake-ups per tick"), "\(cpu)")
        }
        // The bench leaves no child processes and removes its databases.
        #expect(processes(mentioning: folder).isEmpty)
        #expect((try FileManager.default.contentsOfDirectory(atPath: folder)).isEmpty)
    }

    @Test(
        "--extender-nodes: prioritize latency and memory for whole Node objects and for node names, each with a number")
    func extenderFigures() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("bench-extender")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await runProcess(
            TestPaths.binary,
            [
                "bench", "--skip-store", "--skip-poll", "--extender-nodes", "40", "--extender-calls", "3", "--folder",
                folder,
            ],
            timeout: .seconds(600))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for shape in [
            "40 Node objects (nodeCacheCapable: false)", "40 node names (nodeCacheCapable: true, --watch-nodes)",
        ] {
            let latency = lines.first { $0.hasPrefix("extender prioritize, \(shape): median ") }
            #expect(latency?.contains(" ms, p99 ") == true, "no latency for \(shape) in:\n\(result.stdout)")
            #expect(latency?.contains("over 3 calls of") == true, "\(latency ?? result.stdout)")
            let memory = try #require(
                lines.first { $0.hasPrefix("extender memory, \(shape): ") },
                "no memory for \(shape) in:\n\(result.stdout)")
            let resident = Double(
                memory.dropFirst("extender memory, \(shape): ".count).prefix { $0.isNumber || $0 == "." })
            #expect((resident ?? 0) > 0, "\(memory)")
        }
        // Names are a small fraction of whole objects: the reason for nodeCacheCapable: true.
        func size(_ shape: String) -> Double? {
            guard let line = lines.first(where: { $0.hasPrefix("extender prioritize, \(shape)") }),
                let range = line.range(of: "calls of ")
            else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
        let objects = try #require(size("40 Node objects"))
        let names = try #require(size("40 node names"))
        #expect(names < objects, "\(result.stdout)")
        #expect(processes(mentioning: folder).isEmpty)
    }

    @Test(
        "--shards: every node on exactly its own shard, every query answered alike, a killed shard loses only its ticks"
    )
    func shardFigures() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("bench-shards")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await runProcess(
            TestPaths.binary,
            [
                "bench", "--skip-store", "--skip-poll", "--shards", "3", "--shard-plugs", "30", "--seconds", "3",
                "--folder", folder,
            ],
            timeout: .seconds(600))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let placement = try #require(
            lines.first { $0.hasPrefix("shards, 3 shards x 30 plugs: nodes ") }, "no shard line in:\n\(result.stdout)")
        #expect(placement.contains("(every node on exactly its own shard)"), "\(placement)")
        // The node counts of the three shards add up to the plugs.
        let counts = placement.dropFirst("shards, 3 shards x 30 plugs: nodes ".count).prefix { $0 != "(" }
            .split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(counts.count == 3 && counts.reduce(0, +) == 30, "\(placement)")
        for part in ["ticks delivered ", "CPU ", "resident "] {
            #expect(placement.contains(part), "\(placement)")
        }
        let queries = try #require(lines.first { $0.hasPrefix("shards, queries: ") }, "\(result.stdout)")
        let asked = counts.map { min($0, 10) }.reduce(0, +) * 3
        #expect(queries.contains("\(asked) of \(asked) answered, 0 nodes with answers that differ"), "\(queries)")
        let outage = try #require(lines.first { $0.hasPrefix("shards, shard 1 killed for 10 s") }, "\(result.stdout)")
        // Shard 1 was down for at least 10 of the outage's seconds: it stored well under all
        // its ticks; the others stored theirs (on a loaded machine a tick may come late).
        let percents = outage.matches(of: /([0-9.]+) %/).compactMap { Double($0.output.1) }
        #expect(percents.count == 3, "\(outage)")
        if percents.count == 3 {
            #expect(percents[0] < 90, "\(outage)")
            #expect(percents[1] > 90 && percents[2] > 90, "\(outage)")
        }
        #expect(processes(mentioning: folder).isEmpty)
    }

    @Test("--attribution: CPU per window and memory at each pod count, and the static power fit, each with a number")
    func attributionFigures() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("bench-attribution")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await runProcess(
            TestPaths.binary,
            [
                "bench", "--skip-store", "--skip-poll", "--attribution", "--attribution-pods", "0,30",
                "--attribution-nodes", "4", "--attribution-windows", "5", "--folder", folder,
            ],
            timeout: .seconds(300))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        /// The number right after "PREFIX: " (and "peak " for memory), or nil.
        func figure(_ prefix: String) -> Double? {
            guard var text = lines.first(where: { $0.hasPrefix(prefix + ": ") })?.dropFirst(prefix.count + 2) else {
                return nil
            }
            if text.hasPrefix("peak ") { text = text.dropFirst(5) }
            return Double(text.prefix { $0.isNumber || $0 == "." })
        }
        for pods in [0, 30] {
            let shape = "\(pods) pods on 4 nodes"
            let cpu = try #require(figure("pod attribution CPU, \(shape)"), "no CPU figure in:\n\(result.stdout)")
            #expect(cpu >= 0)
            let memory = try #require(figure("pod attribution memory, \(shape)"), "no memory in:\n\(result.stdout)")
            #expect(memory > 0)
            // Each window balances: the bench checks its own results.
            let line = lines.first { $0.hasPrefix("pod attribution CPU, \(shape): ") } ?? ""
            let imbalance = line.range(of: "largest imbalance ").flatMap { range in
                Double(line[range.upperBound...].prefix { !$0.isWhitespace })
            }
            #expect((imbalance ?? 1) <= 1e-9, "\(line)")
            #expect(line.contains("5 windows"), "\(line)")
        }
        #expect(figure("static power fit CPU, 5760 samples") != nil, "\(result.stdout)")
        #expect((figure("static power fit memory, 5760 samples") ?? -1) >= 0, "\(result.stdout)")
        // The poll, store and extender figures were skipped.
        #expect(!lines.contains { $0.hasPrefix("store ingest") || $0.hasPrefix("poll ") || $0.hasPrefix("extender ") })
        let invalid = try await runProcess(
            TestPaths.binary, ["bench", "--attribution", "--attribution-pods", "10,x"], timeout: .seconds(60))
        #expect(invalid.status != 0)
        #expect(invalid.stderr.contains("--attribution-pods: \"x\" is not a pod count"), "\(invalid.stderr)")
    }

    /// Pids of running processes whose command line contains `text`.
    private func processes(mentioning text: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { pid in
            guard pid.allSatisfy(\.isNumber), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else {
                return false
            }
            return String(decoding: data, as: UTF8.self).contains(text)
        }
    }
}

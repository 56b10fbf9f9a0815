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

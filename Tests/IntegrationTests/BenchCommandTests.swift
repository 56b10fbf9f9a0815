import Foundation
import Testing
import TestSupport

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
                "poll ticks delivered, 20 plugs, \(transport)", "poll CPU, 20 plugs, \(transport)", "simulator CPU, 20 plugs, \(transport)",
                "resident memory, 20 plugs, \(transport)", "tick timing error p50, 20 plugs, \(transport)",
                "tick timing error p99, 20 plugs, \(transport)", "requests per sample, 20 plugs, \(transport)",
            ]
        }
        if Tools.find("prometheus-node-exporter") != nil {
            required += ["/metrics requests/s, prometheus-node-exporter textfile", "/metrics requests/s ratio"]
        } else {
            #expect(lines.contains { $0.hasPrefix("/metrics requests/s, prometheus-node-exporter textfile: not measured") })
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

    /// Pids of running processes whose command line contains `text`.
    private func processes(mentioning text: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { pid in
            guard pid.allSatisfy(\.isNumber), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
                return false
            }
            return String(decoding: data, as: UTF8.self).contains(text)
        }
    }
}

import CurlClient
import Exposition
import Foundation
import TestSupport
import Testing

/// A flood of ordinary `/metrics` requests (wrk, a thousand connections) against the real
/// binary: polling and storing go on as if nothing happened, the liveness listener answers
/// within the Deployment's probe timeout, and what the server cannot take is refused at once
/// with `503` and `Retry-After`.
@Suite("Scrape flood", .serialized)
struct ScrapeFloodTests {
    /// The liveness probe's `timeoutSeconds` in k8s/monitor-deployment.yaml.
    static let probeTimeoutMilliseconds = 3000

    @Test(
        "1,000 /metrics clients (keep-alive and reconnecting): no tick skipped, every plug's tick stored or its timeout counted, the health listener answers every probe"
    )
    func flood() async throws {
        let wrk = try #require(Tools.find("wrk"), "wrk missing: run bash scripts/setup.sh --test")
        let sqlite3 = try #require(Tools.find("sqlite3"), "sqlite3 missing: run bash scripts/setup.sh")
        let folder = try TestEnvironment.makeFolder("flood")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plugPort = TestEnvironment.freePorts(3)
        let listenPort = TestEnvironment.freePorts(1)
        let healthPort = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "3", "--port", "\(plugPort)", "--generations", "1,2,3",
                "--write-config", folder + "/config.yaml", "--database", folder + "/energy.db",
                "--listen", "127.0.0.1:\(listenPort)",
            ], in: folder, name: "simulate")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let config = try String(contentsOfFile: folder + "/config.yaml", encoding: .utf8)
        try (config + "healthListen: 127.0.0.1:\(healthPort)\n").write(
            toFile: folder + "/config.yaml", atomically: true, encoding: .utf8)
        let monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        defer { monitor.end() }
        let base = "http://127.0.0.1:\(listenPort)"
        let ready = await eventually(within: .seconds(30)) {
            await TestEnvironment.get(base + "/readyz")?.status == 200
        }
        try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
        // Every plug detected and polled before the flood starts.
        try await Task.sleep(for: .seconds(3))
        let before = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))

        // Two floods back to back: persistent connections (the accept loop idle, the request
        // handlers busy) and connections closed after every request (the accept loop busy).
        // The probes come from a curl loop of their own, as the kubelet's would: this test
        // process's threads are shared with the suites that run beside it.
        let curl = try #require(Tools.find("curl"), "curl missing: run bash scripts/setup.sh")
        let timeout = Double(Self.probeTimeoutMilliseconds) / 1000
        let loop =
            "while :; do '\(curl)' -s -o /dev/null --max-time \(timeout) -w '%{http_code} %{time_total}\\n' "
            + "'http://127.0.0.1:\(healthPort)/healthz'; sleep 0.25; done"
        let prober = try ChildProcess("/bin/sh", ["-c", loop], in: folder, name: "liveness probe")
        defer { prober.end() }
        let floodStart = Date().timeIntervalSince1970
        var refusals: [String] = []
        for extra in [[], ["-H", "Connection: close"]] {
            // wrk at the lowest priority: the monitor still gets the flood, and the tests that
            // run beside this one are not starved by it.
            let result = try await runProcess(
                "/usr/bin/nice",
                ["-n", "19", wrk, "-t2", "-c1000", "-d8s", "--timeout", "5s"] + extra + ["\(base)/metrics"],
                timeout: .seconds(60))
            #expect(result.status == 0, "wrk: \(result.stderr)")
            refusals.append(result.stdout.split(separator: "\n").filter { $0.contains("Non-2xx") }.joined())
        }
        let floodEnd = Date().timeIntervalSince1970
        prober.stop()
        // Each probe: its status (000: no answer within the timeout) and its seconds.
        let answered: [(status: Int?, milliseconds: Double)] = prober.stdout.split(separator: "\n").compactMap {
            let fields = $0.split(separator: " ")
            guard fields.count == 2, let seconds = Double(fields[1]) else { return nil }
            return (Int(fields[0]).flatMap { $0 == 0 ? nil : $0 }, seconds * 1000)
        }
        // The connections wrk left in the accept queue are worked off before a scrape gets in.
        var after = ExpositionReader("")
        let scraped = await eventually(within: .seconds(60), every: .milliseconds(500)) {
            after = ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
            return after.has("energy_monitor_http_requests_refused_total")
        }
        try #require(scraped, "no scrape after the flood: \(monitor.stderr.suffix(1000))")
        // Requests beyond the limit were refused at once, with Retry-After (checked below).
        let refused = (after.value("energy_monitor_http_requests_refused_total") ?? 0)
        #expect(refused > 0, "nothing was refused: \(refusals)")

        // The liveness listener answered every probe, each within the probe's timeout.
        #expect(answered.count >= 5, "\(answered.count) probes")
        let failed = answered.filter { $0.status != 200 }
        #expect(failed.isEmpty, "\(failed.count) of \(answered.count) probes failed: \(failed.prefix(5))")
        let slowest = answered.map(\.milliseconds).max() ?? 0
        print(
            String(
                format: "flood: %d health probes, slowest %.0f ms; %.0f requests refused", answered.count, slowest,
                refused))

        // No tick was lost: none skipped, and for each plug every tick of the flood has a
        // stored sample or a counted timeout (a simulated plug starved of CPU may answer late;
        // the monitor must still have asked it on time).
        let skipped =
            (after.value("energy_monitor_ticks_skipped_total") ?? 0)
            - (before.value("energy_monitor_ticks_skipped_total") ?? 0)
        #expect(skipped == 0, "\(skipped) ticks skipped during the flood")
        let from = floodStart.rounded(.up) + 1
        let to = floodEnd.rounded(.down) - 1
        let ticks = Int(to - from)
        for node in ["sim-0", "sim-1", "sim-2"] {
            let rows = try await runProcess(
                sqlite3,
                [
                    folder + "/energy.db",
                    "SELECT count(DISTINCT CAST(ts AS INTEGER)) FROM power WHERE node = '\(node)' AND ts >= \(from) AND ts < \(to)",
                ])
            let stored = Int(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            let series = "energy_monitor_poll_errors_total{node=\"\(node)\",reason=\"timeout\"}"
            let timeouts = Int((after.value(series) ?? 0) - (before.value(series) ?? 0))
            print("flood: \(node) \(stored) of \(ticks) ticks stored, \(timeouts) polls timed out")
            #expect(stored + timeouts >= ticks, "\(node): \(stored) stored + \(timeouts) timeouts of \(ticks) ticks")
            #expect(stored * 2 >= ticks, "\(node): only \(stored) of \(ticks) ticks stored")
        }
        #expect(monitor.isRunning)
    }

    @Test("a request beyond the limit of requests in progress gets 503 with Retry-After, in words")
    func refusalShape() async throws {
        let wrk = try #require(Tools.find("wrk"), "wrk missing: run bash scripts/setup.sh --test")
        let folder = try TestEnvironment.makeFolder("flood-refusal")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plugPort = TestEnvironment.freePorts(1)
        let listenPort = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "1", "--port", "\(plugPort)", "--write-config", folder + "/config.yaml",
                "--database", folder + "/energy.db", "--listen", "127.0.0.1:\(listenPort)",
            ], in: folder, name: "simulate")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let monitor = try ChildProcess(
            TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run")
        defer { monitor.end() }
        let base = "http://127.0.0.1:\(listenPort)"
        let ready = await eventually(within: .seconds(30)) {
            await TestEnvironment.get(base + "/readyz")?.status == 200
        }
        try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
        // While a flood holds every place, some of a client's own requests are refused.
        let flood = Task {
            try await runProcess(wrk, ["-t2", "-c500", "-d6s", "\(base)/metrics"], timeout: .seconds(60))
        }
        let client = CurlMultiClient()
        defer { client.shutdown() }
        var refusal: HTTPResponse?
        _ = await eventually(within: .seconds(6), every: .milliseconds(5)) {
            let response = try? await client.perform(HTTPRequest(url: base + "/metrics", timeoutMilliseconds: 10_000))
            if response?.status == 503 { refusal = response }
            return refusal != nil
        }
        _ = try await flood.value
        let answer = try #require(refusal, "no request was refused during the flood")
        #expect(answer.header("Retry-After") == "1")
        #expect(String(decoding: answer.body, as: UTF8.self).hasPrefix("busy: 64 requests in progress"))
        #expect(monitor.isRunning)
    }
}

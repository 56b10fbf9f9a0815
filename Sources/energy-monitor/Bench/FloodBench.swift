import CurlClient
import EnergyModel
import Exposition
import Foundation
import Store

/// The scrape-flood part of `bench` (`--flood`): the service with 3 simulated plugs, then wrk
/// with 1,000 and 2,000 connections on `/metrics` (kept alive, then closed after every
/// request), while `/healthz` is asked four times a second on the main port and on the
/// health listener. Reports the ticks stored against the ticks of the window, the health
/// round trips and the requests refused.
struct FloodBench {
    /// What one flood measured.
    struct Figures: CustomStringConvertible {
        var connections: Int
        var reconnecting: Bool
        var seconds: Int
        var expectedSamples: Int
        var storedSamples: Int
        var skippedTicks: Double
        var refused: Double
        var requestsPerSecond: Double?
        /// Round trips in milliseconds (nil: no answer within 10 s).
        var mainHealth: [Double?]
        var listenerHealth: [Double?]

        private static func summary(_ times: [Double?]) -> String {
            let answered = times.compactMap { $0 }.sorted()
            let missing = times.count - answered.count
            guard !answered.isEmpty else { return "no answer of \(times.count)" }
            func quantile(_ q: Double) -> Double {
                answered[min(answered.count - 1, Int(clampingRounding: (Double(answered.count - 1) * q).rounded(.down)))]
            }
            return String(
                format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d asked, %d unanswered in 10 s)", quantile(0.5),
                quantile(0.99), answered.last ?? 0, times.count, missing)
        }

        var description: String {
            let kind = reconnecting ? "reconnecting" : "keep-alive"
            let delivered = expectedSamples > 0 ? 100 * Double(storedSamples) / Double(expectedSamples) : 0
            let rate = requestsPerSecond.map { String(format: "%.0f", $0) } ?? "?"
            return [
                String(
                    format:
                        "flood %d %@ clients, %d s: ticks stored %.2f %% (%d of %d samples), %.0f skipped; %@ requests/s, %.0f refused (503)",
                    connections, kind, seconds, delivered, storedSamples, expectedSamples, skippedTicks, rate, refused),
                "flood \(connections) \(kind): /healthz on the health listener: \(Self.summary(listenerHealth))",
                "flood \(connections) \(kind): /healthz on the main port: \(Self.summary(mainHealth))",
            ].joined(separator: "\n")
        }
    }

    let poll: PollBench
    let seconds: Int

    /// Floods with each of `connections`, both kinds; one block of lines each.
    func run(connections: [Int]) async -> [Result<Figures, CommandFailure>] {
        guard let wrk = BenchChild.find("wrk") else {
            return [.failure(CommandFailure("wrk is not installed (apt-get install wrk)"))]
        }
        var results: [Result<Figures, CommandFailure>] = []
        for count in connections {
            for reconnecting in [false, true] {
                do {
                    results.append(.success(try await flood(wrk: wrk, connections: count, reconnecting: reconnecting)))
                } catch {
                    results.append(.failure(CommandFailure("flood \(count): \(error)")))
                }
            }
        }
        return results
    }

    private func flood(wrk: String, connections: Int, reconnecting: Bool) async throws -> Figures {
        let name = "flood-\(connections)-\(reconnecting ? "close" : "keep")"
        let folder = poll.folder
        let configPath = folder.appendingPathComponent("\(name).yaml").path
        let databasePath = folder.appendingPathComponent("\(name).db").path
        guard let listenPort = BenchChild.freePort(), let healthPort = BenchChild.freePort(), healthPort != listenPort
        else { throw CommandFailure("no free ports") }
        let lifetime = String(seconds + 120)
        let simulator = try await poll.startSimulator(
            name: name, plugs: 3, configPath: configPath, databasePath: databasePath, listenPort: listenPort,
            lifetime: lifetime)
        defer { simulator.stop() }
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        try (config + "healthListen: 127.0.0.1:\(healthPort)\n").write(
            toFile: configPath, atomically: true, encoding: .utf8)
        let monitor = try BenchChild(
            name: "energy-monitor run", executable: poll.executable,
            arguments: ["run", "--config", configPath, "--log-level", "error", "--duration", lifetime],
            logPath: folder.appendingPathComponent("\(name).run.log").path)
        defer { monitor.stop() }
        let base = "http://127.0.0.1:\(listenPort)"
        try await poll.waitUntilReady(base + "/readyz", child: monitor, seconds: 120)
        try await Task.sleep(for: .seconds(3))
        let before = try await poll.scrape(base + "/metrics")

        // The probes: a client of their own, so they never queue behind the bench's.
        let probeClient = CurlMultiClient()
        defer { probeClient.shutdown() }
        let probing = Task { () -> (main: [Double?], listener: [Double?]) in
            var main: [Double?] = []
            var listener: [Double?] = []
            while !Task.isCancelled {
                for (url, isMain) in [(base + "/healthz", true), ("http://127.0.0.1:\(healthPort)/healthz", false)] {
                    let start = ContinuousClock.now
                    let response = try? await probeClient.perform(HTTPRequest(url: url, timeoutMilliseconds: 10_000))
                    let milliseconds: Double? =
                        response?.status == 200 ? (ContinuousClock.now - start) / .milliseconds(1) : nil
                    if isMain { main.append(milliseconds) } else { listener.append(milliseconds) }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
            return (main, listener)
        }
        let logPath = folder.appendingPathComponent("\(name).wrk.log").path
        let start = WallClock.nowMilliseconds()
        let load = try BenchChild(
            name: "wrk", executable: wrk,
            arguments: ["-t2", "-c\(connections)", "-d\(seconds)s", "--timeout", "10s"]
                + (reconnecting ? ["-H", "Connection: close"] : []) + ["\(base)/metrics"],
            logPath: logPath)
        guard await load.waitForExit(seconds: Double(seconds) + 30) else {
            probing.cancel()
            throw CommandFailure("wrk did not finish")
        }
        let end = WallClock.nowMilliseconds()
        probing.cancel()
        let health = await probing.value
        // The accept queue wrk left behind is worked off before the figures can be read.
        var after: ExpositionReader?
        let deadline = WallClockSeconds.now() + 120
        while after == nil, WallClockSeconds.now() < deadline {
            after = try? await poll.scrape(base + "/metrics")
            if after == nil { try await Task.sleep(for: .milliseconds(500)) }
        }
        guard let after, monitor.isRunning else { throw CommandFailure("the service stopped: \(monitor.logTail())") }
        monitor.stop()
        simulator.stop()
        // Whole seconds inside the flood, each a tick of every plug.
        let from = (start / 1000 + 1) * 1000
        let to = end / 1000 * 1000
        let store = try EnergyStore(path: databasePath, readOnly: true)
        defer { store.close() }
        let stored = try await store.sampleCount(fromMilliseconds: from, toMilliseconds: to)
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let rate = output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
            .flatMap { Double($0.dropFirst("Requests/sec:".count).trimmingCharacters(in: .whitespaces)) }
        func delta(_ name: String) -> Double { (after.sum(name) ?? 0) - (before.sum(name) ?? 0) }
        return Figures(
            connections: connections, reconnecting: reconnecting, seconds: seconds,
            expectedSamples: 3 * Int(clamping: (to - from) / 1000), storedSamples: stored,
            skippedTicks: delta("energy_monitor_ticks_skipped_total"),
            refused: delta("energy_monitor_http_requests_refused_total"), requestsPerSecond: rate,
            mainHealth: health.main, listenerHealth: health.listener)
    }
}

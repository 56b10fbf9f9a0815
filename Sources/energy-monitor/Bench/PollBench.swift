import CurlClient
import EnergyModel
import Exposition
import Foundation
import Store

/// The poll part of `bench`: the simulator and the service run as two child processes
/// (`energy-monitor simulate` and `energy-monitor run`), so the simulator's work never
/// counts as the service's and each is measured apart from `/proc/<pid>`.
struct PollBench {
    /// What one plug count measured over the window.
    struct Figures {
        var plugs: Int
        var ticks: Int
        var storedSamples: Int
        var pollErrors: Double
        var skippedTicks: Double
        var monitorCPUPercent: Double
        var simulatorCPUPercent: Double
        var residentBytes: Int
        var peakResidentBytes: Int
        /// Of the resident memory: anonymous, and file-backed.
        var anonymousBytes = 0
        var fileBytes = 0
        /// What the service touched over the window, when the kernel lets the bench read it.
        var workingSet: WorkingSet?
        /// Voluntary context switches of the service's threads per measured tick.
        var switchesPerTick = 0.0
        var tickDelayP50Milliseconds: Double?
        var tickDelayP99Milliseconds: Double?
        /// Resident memory during the window (seconds into it, bytes), when sampled.
        var memorySamples: [(seconds: Double, bytes: Int)] = []
        /// How the Gen2+ plugs were read (`http`, `websocket`).
        var transport = "http"
        /// The simulator's totals over the whole run (from its last line), when it printed them.
        var simulatorRequests: Int?
        var simulatorChallenged: Int?
        var simulatorThrottled: Int?
        /// Samples stored over the whole run, for requests per sample.
        var runSamples: Int?

        var deliveredPercent: Double {
            ticks * plugs > 0 ? 100 * Double(storedSamples) / Double(ticks * plugs) : 0
        }
    }

    /// The service's executable: a copy of the bench's own, as is the simulator's, so that the
    /// service under measurement shares none of its program's pages with another process, as
    /// in a container of its own (shared pages count in every process that maps them, and the
    /// service's release of its start-up pages skips them).
    let executable: String
    let folder: URL
    let client: CurlMultiClient
    /// The simulator's executable: another copy.
    let simulatorExecutable: String

    init(executable: String, folder: URL, client: CurlMultiClient) {
        self.folder = folder
        self.client = client
        func copy(_ name: String) -> String {
            let path = folder.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path)
                || (try? FileManager.default.copyItem(atPath: executable, toPath: path)) != nil
            {
                return path
            }
            return executable
        }
        self.executable = copy("energy-monitor-service")
        simulatorExecutable = copy("energy-monitor-simulator")
    }

    /// Runs `plugs` simulated plugs and the service for `seconds` measured ticks (after a
    /// warm-up), then, while the service still runs, `whileRunning` (the `/metrics` load).
    /// With `sampleMemoryEvery`, also records the service's resident memory at that period
    /// through the window (the soak).
    func measure(
        plugs: Int, seconds: Int, transport: String = "http", authenticated: Bool = false,
        sampleMemoryEvery: Int? = nil,
        whileRunning: ((_ metricsURL: String) async -> Void)? = nil
    ) async throws -> Figures {
        let name = "poll-\(plugs)-\(transport)"
        let configPath = folder.appendingPathComponent("\(name).yaml").path
        let databasePath = folder.appendingPathComponent("\(name).db").path
        guard let listenPort = BenchChild.freePort() else { throw CommandFailure("no free port for /metrics") }
        // Both children end by themselves even if the bench is killed.
        let lifetime = String(seconds + 120 + plugs / 50)
        let simulator = try await startSimulator(
            name: name, plugs: plugs, configPath: configPath, databasePath: databasePath, listenPort: listenPort,
            lifetime: lifetime,
            transport: transport, authenticated: authenticated)
        defer { simulator.stop() }
        let monitor = try BenchChild(
            name: "energy-monitor run", executable: executable,
            arguments: ["run", "--config", configPath, "--log-level", "error", "--duration", lifetime],
            logPath: folder.appendingPathComponent("\(name).run.log").path
        )
        defer { monitor.stop() }
        let base = "http://127.0.0.1:\(listenPort)"
        try await waitUntilReady(base + "/readyz", child: monitor, seconds: 60 + Double(plugs) / 100)
        // Warm-up: every plug detected, every connection open, the first ticks behind; the
        // window starts 10 s after readiness.
        try await Task.sleep(for: .seconds(10))

        let start = (WallClockSeconds.now() + 1).rounded(.down)
        try await sleep(until: start + 0.05)
        let metricsBefore = try await scrape(base + "/metrics")
        let monitorBefore = ProcessUsage.read(pid: monitor.pid)
        let simulatorBefore = ProcessUsage.read(pid: simulator.pid)
        let workingSetCleared = WorkingSet.reset(pid: monitor.pid)
        let cpuStart = WallClockSeconds.now()
        var memorySamples: [(seconds: Double, bytes: Int)] = []
        if let period = sampleMemoryEvery {
            var next = start + 0.05
            while next < start + Double(seconds) {
                try await sleep(until: next)
                guard let usage = ProcessUsage.read(pid: monitor.pid) else {
                    throw CommandFailure("the service stopped during the measurement: \(monitor.logTail())")
                }
                memorySamples.append((next - start, usage.residentBytes))
                next += Double(period)
            }
        }
        try await sleep(until: start + Double(seconds) + 0.05)
        let monitorAfter = ProcessUsage.read(pid: monitor.pid)
        let workingSet = workingSetCleared ? WorkingSet.read(pid: monitor.pid) : nil
        let simulatorAfter = ProcessUsage.read(pid: simulator.pid)
        let cpuSeconds = WallClockSeconds.now() - cpuStart
        // The last tick of the window is polled within 0.8 s and stored right after.
        try await sleep(until: start + Double(seconds) + 1.5)
        let metricsAfter = try await scrape(base + "/metrics")
        let memory = ProcessUsage.read(pid: monitor.pid)
        guard monitor.isRunning, let monitorBefore, let monitorAfter, let memory else {
            throw CommandFailure("the service stopped during the measurement: \(monitor.logTail())")
        }
        await whileRunning?(base + "/metrics")
        monitor.stop()
        simulator.stop()

        let store = try EnergyStore(path: databasePath, readOnly: true)
        let from = Int64(clampingRounding: start) * 1000
        let stored = try await store.sampleCount(
            fromMilliseconds: from, toMilliseconds: from + Int64(clamping: seconds) * 1000)
        let runSamples = try await store.sampleCount(fromMilliseconds: 0, toMilliseconds: .max)
        store.close()
        let statistics = Self.simulatorStatistics(
            (try? String(contentsOfFile: simulator.logPath, encoding: .utf8)) ?? "")

        let delays = ExpositionReader.difference(
            metricsAfter.buckets("energy_monitor_tick_delay_seconds"),
            metricsBefore.buckets("energy_monitor_tick_delay_seconds")
        )
        func delta(_ metric: String) -> Double {
            (metricsAfter.sum(metric) ?? 0) - (metricsBefore.sum(metric) ?? 0)
        }
        let simulatorCPU = (simulatorAfter?.cpuSeconds ?? 0) - (simulatorBefore?.cpuSeconds ?? 0)
        return Figures(
            plugs: plugs,
            ticks: seconds,
            storedSamples: stored,
            pollErrors: delta("energy_monitor_poll_errors_total"),
            skippedTicks: delta("energy_monitor_ticks_skipped_total"),
            monitorCPUPercent: 100 * (monitorAfter.cpuSeconds - monitorBefore.cpuSeconds) / cpuSeconds,
            simulatorCPUPercent: 100 * simulatorCPU / cpuSeconds,
            residentBytes: memory.residentBytes,
            peakResidentBytes: memory.peakResidentBytes,
            anonymousBytes: memory.anonymousBytes,
            fileBytes: memory.fileBytes,
            workingSet: workingSet,
            switchesPerTick: Double(monitorAfter.voluntarySwitches - monitorBefore.voluntarySwitches)
                / Double(max(1, seconds)),
            tickDelayP50Milliseconds: ExpositionReader.quantile(0.5, of: delays).map { $0 * 1000 },
            tickDelayP99Milliseconds: ExpositionReader.quantile(0.99, of: delays).map { $0 * 1000 },
            memorySamples: memorySamples + [(Double(seconds), memory.residentBytes)],
            transport: transport,
            simulatorRequests: statistics?.requests,
            simulatorChallenged: statistics?.challenged,
            simulatorThrottled: statistics?.throttled,
            runSamples: runSamples
        )
    }

    /// The totals of the simulator's `simulator statistics: N requests, A authenticated, C
    /// challenged (S stale), T throttled, ...` line.
    static func simulatorStatistics(_ log: String) -> (requests: Int, challenged: Int, throttled: Int)? {
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix("simulator statistics: ") }) else {
            return nil
        }
        func number(before word: String) -> Int? {
            guard let range = line.range(of: " " + word) else { return nil }
            let text = String(line[..<range.lowerBound].reversed().prefix { $0.isNumber }.reversed())
            return Int(text)
        }
        guard let requests = number(before: "requests"), let challenged = number(before: "challenged"),
            let throttled = number(before: "throttled")
        else { return nil }
        return (requests, challenged, throttled)
    }

    /// Starts the simulator on a block of free ports below the kernel's ephemeral range,
    /// trying another block if a port of this one is taken.
    func startSimulator(
        name: String, plugs: Int, configPath: String, databasePath: String, listenPort: Int, lifetime: String,
        transport: String = "http", authenticated: Bool = false
    ) async throws -> BenchChild {
        var extra = ["--transport", transport]
        if authenticated {
            // Every plug asks for the password (Digest on Gen2+, as the reference cluster's tvpc).
            let passwordFile = folder.appendingPathComponent("\(name).password").path
            try Data("bench-password".utf8).write(to: URL(fileURLWithPath: passwordFile))
            extra += ["--auth", (0..<plugs).map(String.init).joined(separator: ","), "--password-file", passwordFile]
        }
        var lastFailure = ""
        for attempt in 1...4 {
            let port = Int.random(in: 10_000...max(10_000, 32_000 - plugs))
            try? FileManager.default.removeItem(atPath: configPath)
            let child = try BenchChild(
                name: "energy-monitor simulate", executable: simulatorExecutable,
                arguments: [
                    // Gen2+ only: the transport applies to every plug (Gen1 is HTTP either way).
                    "simulate", "--plugs", String(plugs), "--port", String(port), "--generations", "2,3,4",
                    "--write-config", configPath, "--database", databasePath, "--listen", "127.0.0.1:\(listenPort)",
                    "--duration", lifetime,
                ] + extra,
                logPath: folder.appendingPathComponent("\(name).simulate-\(attempt).log").path
            )
            // The configuration is written once every plug listens.
            let deadline = WallClockSeconds.now() + 60 + Double(plugs) / 50
            while child.isRunning, !FileManager.default.fileExists(atPath: configPath),
                WallClockSeconds.now() < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            if child.isRunning, FileManager.default.fileExists(atPath: configPath) { return child }
            lastFailure = child.logTail(1)
            child.stop()
        }
        throw CommandFailure("the simulator did not start: \(lastFailure)")
    }

    func waitUntilReady(_ url: String, child: BenchChild, seconds: Double) async throws {
        let deadline = WallClockSeconds.now() + seconds
        while WallClockSeconds.now() < deadline {
            guard child.isRunning else { throw CommandFailure("the service exited: \(child.logTail())") }
            if let response = try? await client.perform(HTTPRequest(url: url, timeoutMilliseconds: 1000)),
                response.status == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandFailure("the service was not ready within \(Int(clampingRounding: seconds)) s: \(child.logTail())")
    }

    func scrape(_ url: String) async throws -> ExpositionReader {
        let response = try await client.perform(
            HTTPRequest(url: url, timeoutMilliseconds: 5000, maxResponseBytes: 64 << 20))
        guard response.status == 200 else { throw CommandFailure("\(url): HTTP \(response.status)") }
        return ExpositionReader(String(decoding: response.body, as: UTF8.self))
    }

    func sleep(until time: Double) async throws {
        let wait = time - WallClockSeconds.now()
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(clampingRounding: wait * 1000))) }
    }
}

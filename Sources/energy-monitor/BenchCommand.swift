import ArgumentParser
import CurlClient
import EnergyModel
import Foundation

/// `energy-monitor bench`: measures this machine and prints one line per figure: the store
/// (ingest and per-tick write time with synchronous FULL and NORMAL, bytes per sample, 24 h
/// query, backlog bytes per sample), polling at several plug counts (ticks delivered, CPU,
/// memory, tick timing error) against a simulator in its own process, `/metrics` requests
/// per second next to prometheus-node-exporter, and with `--read-load` the tick write time
/// and `/readyz` latency while clients read long power series, and with `--attribution` the
/// cost of splitting node energy among pods per metrics window, and with `--shards` what
/// shards of one configuration cost, deliver and answer. Build with `-c release` for
/// meaningful numbers.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Measure the store, polling at several plug counts, /metrics throughput, and (--read-load) heavy reads.",
        discussion: """
            Polling runs `energy-monitor simulate` and `energy-monitor run` as child processes on \
            127.0.0.1 and reads the service's CPU and memory from /proc. Figures that cannot be \
            measured here (a missing tool, a simulator that cannot bind) say so on their line. \
            The store's databases go to --folder (default: the system's temporary folder); the \
            first line names its filesystem, which must be a disk, not tmpfs, for the write figures.
            """
    )

    @Option(name: .long, help: "Nodes written per tick for the ingest figure.")
    var nodes: Int = 1000

    @Option(name: .long, help: "Ticks written for the ingest figure.")
    var ticks: Int = 200

    @Option(name: .long, help: "Comma-separated simulated plug counts for the poll figures.")
    var plugs: String = "3,100,1000,5000"

    @Option(name: .long, help: "Measured seconds (ticks) per plug count, after a warm-up.")
    var seconds: Int = 30

    @Option(
        name: .long,
        help: "The plug count whose service gets the /metrics load (default: the second count, or the only one).")
    var loadPlugs: Int?

    @Option(name: .long, help: "Seconds of /metrics load per server.")
    var loadSeconds: Int = 10

    @Option(name: .long, help: "Concurrent connections of the /metrics load client.")
    var loadConnections: Int = 32

    @Option(
        name: .long, help: "Also run a soak of this many seconds at --soak-plugs plugs, sampling memory every minute.")
    var soak: Int?

    @Option(name: .long, help: "Plugs of the soak.")
    var soakPlugs: Int = 1000

    @Flag(
        name: .long,
        help:
            "Also measure tick writes and /readyz alone and while clients read /api/v1/power over a long stored window."
    )
    var readLoad = false

    @Option(name: .long, help: "Days of samples stored before the read load (the window the clients ask for).")
    var readLoadDays: Int = 31

    @Option(name: .long, help: "Plugs (nodes) of the read load.")
    var readLoadPlugs: Int = 3

    @Option(name: .long, help: "Clients of the read load, each asking /api/v1/power in a loop.")
    var readLoadClients: Int = 10

    @Option(name: .long, help: "Measured seconds of the read load, alone and with the clients each.")
    var readLoadSeconds: Int = 30

    @Option(
        name: .long,
        help:
            "Comma-separated transports of the Gen2+ plugs, measured side by side at each plug count: http, websocket.")
    var transports: String = "http,websocket"

    @Flag(name: .long, help: "Password-protect every simulated plug (Digest SHA-256, firmware 2.x rules).")
    var withAuth = false

    @Flag(name: .long, help: "Skip the store figures.")
    var skipStore = false

    @Flag(name: .long, help: "Skip the poll and /metrics figures (not the soak).")
    var skipPoll = false

    @Option(
        name: .long, parsing: .upToNextOption,
        help:
            "Also flood /metrics of a 3-plug service with wrk at these connection counts (e.g. --flood 1000 2000): ticks stored, /healthz round trips, requests refused."
    )
    var flood: [Int] = []

    @Option(name: .long, help: "Seconds of each flood.")
    var floodSeconds: Int = 20

    @Option(
        name: .long,
        help:
            "Also run this many shards (run --shard I/N) against --shard-plugs plugs: nodes per shard, ticks delivered, CPU, memory, queries from every shard, a shard killed and restarted."
    )
    var shards: Int?

    @Option(name: .long, help: "Plugs of the shard figures.")
    var shardPlugs: Int = 3000

    @Option(name: .long, help: "Folder for the temporary databases (default: the system's temporary folder).")
    var folder: String?

    @Option(
        name: .long,
        help:
            "Also measure the extender's prioritize latency and memory at this many nodes, for whole Node objects and for node names (e.g. 5000)."
    )
    var extenderNodes: Int?

    @Option(name: .long, help: "Prioritize calls per request shape of the extender figures.")
    var extenderCalls: Int = 20

    @Flag(
        name: .long, help: "Also measure per-pod energy attribution (CPU per window, memory) and the static power fit.")
    var attribution = false

    @Option(name: .long, help: "Comma-separated pod counts of the attribution figures, over --attribution-nodes nodes.")
    var attributionPods: String = "1000,10000"

    @Option(name: .long, help: "Nodes of the attribution figures.")
    var attributionNodes: Int = 100

    @Option(name: .long, help: "Metrics windows attributed per pod count.")
    var attributionWindows: Int = 100

    func validate() throws {
        guard nodes >= 1, nodes <= 100_000 else { throw ValidationError("--nodes must be 1...100000") }
        guard ticks >= 1, ticks <= 100_000 else { throw ValidationError("--ticks must be 1...100000") }
        guard seconds >= 1, seconds <= 3600 else { throw ValidationError("--seconds must be 1...3600") }
        guard loadSeconds >= 1, loadSeconds <= 600 else { throw ValidationError("--load-seconds must be 1...600") }
        guard loadConnections >= 1, loadConnections <= 1000 else {
            throw ValidationError("--load-connections must be 1...1000")
        }
        _ = try plugCounts()
        _ = try transportList()
        if let soak, !(60...86_400).contains(soak) { throw ValidationError("--soak must be 60...86400 seconds") }
        guard (1...20_000).contains(soakPlugs) else { throw ValidationError("--soak-plugs must be 1...20000") }
        guard (1...31).contains(readLoadDays) else {
            throw ValidationError("--read-load-days must be 1...31 (the longest /api/v1/power window)")
        }
        guard (1...1000).contains(readLoadPlugs) else { throw ValidationError("--read-load-plugs must be 1...1000") }
        guard (0...100).contains(readLoadClients) else { throw ValidationError("--read-load-clients must be 0...100") }
        guard (5...3600).contains(readLoadSeconds) else {
            throw ValidationError("--read-load-seconds must be 5...3600")
        }
        guard flood.allSatisfy({ (1...20_000).contains($0) }) else {
            throw ValidationError("--flood: connection counts in 1...20000")
        }
        guard (5...600).contains(floodSeconds) else { throw ValidationError("--flood-seconds must be 5...600") }
        if let extenderNodes, !(1...20_000).contains(extenderNodes) {
            throw ValidationError("--extender-nodes must be 1...20000")
        }
        guard (1...1000).contains(extenderCalls) else { throw ValidationError("--extender-calls must be 1...1000") }
        _ = try attributionPodCounts()
        if let shards, !(2...16).contains(shards) { throw ValidationError("--shards must be 2...16") }
        guard (1...20_000).contains(shardPlugs) else { throw ValidationError("--shard-plugs must be 1...20000") }
        guard (1...10_000).contains(attributionNodes) else {
            throw ValidationError("--attribution-nodes must be 1...10000")
        }
        guard (1...100_000).contains(attributionWindows) else {
            throw ValidationError("--attribution-windows must be 1...100000")
        }
    }

    func attributionPodCounts() throws -> [Int] {
        let counts = try attributionPods.split(separator: ",").map { text -> Int in
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), (0...1_000_000).contains(count) else {
                throw ValidationError("--attribution-pods: \"\(text)\" is not a pod count in 0...1000000")
            }
            return count
        }
        guard !counts.isEmpty else { throw ValidationError("--attribution-pods is empty") }
        return counts
    }

    func transportList() throws -> [String] {
        let list = transports.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !list.isEmpty, list.allSatisfy({ $0 == "http" || $0 == "websocket" }) else {
            throw ValidationError("--transports: a comma-separated list of http and websocket")
        }
        return list
    }

    func plugCounts() throws -> [Int] {
        let counts = try plugs.split(separator: ",").map { text -> Int in
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), (1...20_000).contains(count) else {
                throw ValidationError("--plugs: \"\(text)\" is not a plug count in 1...20000")
            }
            return count
        }
        guard !counts.isEmpty else { throw ValidationError("--plugs is empty") }
        return counts
    }

    func run() async throws {
        let base = URL(fileURLWithPath: folder ?? FileManager.default.temporaryDirectory.path)
            .appendingPathComponent("energy-monitor-bench-\(getpid())")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }

        if !skipStore {
            try await StoreBench(folder: base, nodes: nodes, ticks: ticks).run()
        }
        if let extenderNodes {
            let client = CurlMultiClient()
            defer { client.shutdown() }
            let bench = ExtenderBench(
                executable: BenchChild.ownExecutable(), folder: base, client: client, nodes: extenderNodes,
                calls: extenderCalls)
            do {
                for figures in try await bench.run() { print(figures) }
            } catch {
                Console.write("extender prioritize, \(extenderNodes) nodes: not measured (\(error))")
            }
        }
        if attribution {
            let bench = AttributionBench(
                podCounts: try attributionPodCounts(), nodes: attributionNodes, windows: attributionWindows)
            let (figures, fit) = bench.run()
            for figure in figures { print(figure) }
            print(fit)
        }
        guard !skipPoll || soak != nil || readLoad || !flood.isEmpty || shards != nil else { return }
        // 5,000 plugs are 5,000 sockets in each child; children inherit the raised limit.
        ResourceLimits.raiseOpenFileLimit()
        let counts = try plugCounts()
        let loadCount = loadPlugs ?? (counts.count > 1 ? counts[1] : counts[0])
        let client = CurlMultiClient()
        defer { client.shutdown() }
        let poll = PollBench(executable: BenchChild.ownExecutable(), folder: base, client: client)
        let load = MetricsLoadBench(folder: base, client: client, connections: loadConnections, seconds: loadSeconds)
        var loaded = false
        for count in skipPoll ? [] : counts {
            for transport in try transportList() {
                let runsLoad = !loaded && count == loadCount
                do {
                    let figures = try await poll.measure(
                        plugs: count, seconds: seconds, transport: transport, authenticated: withAuth
                    ) { url in
                        guard runsLoad else { return }
                        await load.run(serviceURL: url, plugs: count)
                    }
                    loaded = loaded || runsLoad
                    print(figures)
                } catch {
                    printUnmeasured(plugs: count, transport: transport, reason: "\(error)")
                }
            }
        }
        if let soak {
            do {
                let figures = try await poll.measure(plugs: soakPlugs, seconds: soak, sampleMemoryEvery: 60)
                print(figures)
                printSoak(figures)
            } catch {
                Console.write("soak, \(soakPlugs) plugs: not measured (\(error))")
            }
        }
        if readLoad {
            let bench = ReadLoadBench(
                poll: poll, plugs: readLoadPlugs, days: readLoadDays, seconds: readLoadSeconds, clients: readLoadClients
            )
            do {
                let (alone, loaded, prefill) = try await bench.run()
                printReadLoad(alone: alone, loaded: loaded, prefill: prefill)
            } catch {
                let line = "\(error)".foldedToOneLine(limit: 1000)
                Console.write("read load: not measured (\(line))")
            }
        }
        if !flood.isEmpty {
            for result in await FloodBench(poll: poll, seconds: floodSeconds).run(connections: flood) {
                switch result {
                case .success(let figures): Console.write(figures.description)
                case .failure(let error): Console.write("flood: not measured (\(error.description))")
                }
            }
        }
        if let shards {
            let bench = ShardBench(poll: poll, count: shards, plugs: shardPlugs, seconds: seconds)
            do {
                for line in try await bench.run().lines { Console.write(line) }
            } catch {
                let line = "\(error)".foldedToOneLine(limit: 1000)
                Console.write("shards, \(shards) shards x \(shardPlugs) plugs: not measured (\(line))")
            }
        }
        if !loaded, !skipPoll {
            Console.write("/metrics requests/s, energy-monitor: not measured (no poll run with \(loadCount) plugs)")
            Console.write(
                "/metrics requests/s, prometheus-node-exporter textfile: not measured (no poll run with \(loadCount) plugs)"
            )
            Console.write("/metrics requests/s ratio: not measured")
        }
    }

    private func print(_ figures: ExtenderBench.Figures) {
        let sorted = figures.latencies.sorted()
        func percentile(_ q: Double) -> Double {
            sorted.isEmpty
                ? 0 : sorted[min(sorted.count - 1, max(0, Int(clampingRounding: Double(sorted.count) * q, .up) - 1))]
        }
        func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        Console.write(
            "extender prioritize, \(figures.shape): median \(String(format: "%.1f", percentile(0.5))) ms, "
                + "p99 \(String(format: "%.1f", percentile(0.99))) ms over \(sorted.count) calls of "
                + "\(String(format: "%.2f", Double(figures.bodyBytes) / 1_048_576)) MiB each")
        Console.write(
            "extender memory, \(figures.shape): \(mebibytes(figures.residentBytes)) resident after the calls, peak "
                + "\(mebibytes(figures.peakResidentBytes)), \(mebibytes(figures.idleResidentBytes)) before them")
    }

    private func print(_ figures: AttributionBench.Figures) {
        let shape = "\(figures.pods) pods on \(figures.nodes) nodes"
        let perPod =
            figures.pods > 0
            ? String(format: ", %.0f ns per pod", figures.microsecondsPerWindow * 1000 / Double(figures.pods)) : ""
        Console.write(
            String(format: "pod attribution CPU, %@: %.1f µs per window", shape, figures.microsecondsPerWindow)
                + String(
                    format: " (%.2f µs per node%@; %d windows, every policy in turn; largest imbalance %.1e J)",
                    figures.microsecondsPerWindow / Double(max(1, figures.nodes)), perPod, figures.windows,
                    figures.largestImbalance))
        func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        Console.write(
            "pod attribution memory, \(shape): peak \(mebibytes(figures.peakResidentBytes)) resident while attributing "
                + "(\(mebibytes(figures.residentWithInputsBytes)) with the inputs, "
                + "\(mebibytes(figures.residentBeforeBytes)) before them)")
    }

    private func print(_ figures: AttributionBench.FitFigures) {
        Console.write(
            String(
                format: "static power fit CPU, %d samples: %.1f µs per estimate, %.0f ns per added sample (%d nodes)",
                figures.samples, figures.microsecondsPerEstimate, figures.nanosecondsPerAdd, figures.nodes))
        Console.write(
            String(
                format: "static power fit memory, %d samples: %.1f KiB per node (%d nodes, resident growth)",
                figures.samples, Double(figures.residentBytes) / 1024 / Double(max(1, figures.nodes)), figures.nodes))
    }

    private func print(_ figures: PollBench.Figures) {
        let plugs = "\(figures.plugs) plugs, \(figures.transport)"
        func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
        Console.write(
            "poll ticks delivered, \(plugs): \(format(figures.deliveredPercent, 3)) % (\(figures.storedSamples) of "
                + "\(figures.plugs * figures.ticks) samples over \(figures.ticks) ticks; \(format(figures.pollErrors, 0)) poll errors, "
                + "\(format(figures.skippedTicks, 0)) ticks skipped)"
        )
        Console.write(
            "poll CPU, \(plugs): \(format(figures.monitorCPUPercent, 1)) % of one core (the service process only; "
                + "\(format(figures.monitorCPUPercent * 10, 2)) ms per tick, \(format(figures.switchesPerTick, 1)) "
                + "thread wake-ups per tick)")
        Console.write(
            "simulator CPU, \(plugs): \(format(figures.simulatorCPUPercent, 1)) % of one core (its own process, not counted above)"
        )
        Console.write(
            "resident memory, \(plugs): \(format(Double(figures.residentBytes) / 1_048_576, 1)) MiB "
                + "(peak \(format(Double(figures.peakResidentBytes) / 1_048_576, 1)) MiB; "
                + "\(format(Double(figures.anonymousBytes) / 1_048_576, 1)) MiB anonymous, "
                + "\(format(Double(figures.fileBytes) / 1_048_576, 1)) MiB file-backed)"
        )
        if let set = figures.workingSet {
            Console.write(
                "working set, \(plugs): \(format(Double(set.anonymousBytes + set.fileBytes) / 1_048_576, 1)) MiB "
                    + "touched over the window (\(format(Double(set.anonymousBytes) / 1_048_576, 1)) MiB anonymous, "
                    + "\(format(Double(set.fileBytes) / 1_048_576, 1)) MiB file-backed)")
        } else {
            Console.write("working set, \(plugs): not measured (/proc/<pid>/clear_refs not writable here)")
        }
        if let requests = figures.simulatorRequests, let samples = figures.runSamples, samples > 0 {
            Console.write(
                "requests per sample, \(plugs): \(format(Double(requests) / Double(samples), 3)) (\(requests) HTTP requests and frames "
                    + "for \(samples) samples over the whole run; \(figures.simulatorChallenged ?? 0) challenged, "
                    + "\(figures.simulatorThrottled ?? 0) throttled)")
        }
        for (name, value) in [("p50", figures.tickDelayP50Milliseconds), ("p99", figures.tickDelayP99Milliseconds)] {
            if let value {
                Console.write(
                    "tick timing error \(name), \(plugs): \(format(value, 2)) ms "
                        + "(tick start after its boundary, from energy_monitor_tick_delay_seconds)"
                )
            } else {
                Console.write("tick timing error \(name), \(plugs): not measured (no ticks recorded)")
            }
        }
    }

    /// Memory over the soak: first and last sample, the range, and the least-squares slope of
    /// the second half (after caches and the first minutes' packing have settled).
    private func printSoak(_ figures: PollBench.Figures) {
        let samples = figures.memorySamples
        guard let first = samples.first, let last = samples.last else { return }
        let mebibytes = { (bytes: Int) in Double(bytes) / 1_048_576 }
        let half = Array(samples.suffix(max(2, samples.count / 2)))
        let meanTime = half.reduce(0) { $0 + $1.seconds } / Double(half.count)
        let meanBytes = half.reduce(0) { $0 + mebibytes($1.bytes) } / Double(half.count)
        let covariance = half.reduce(0) { $0 + ($1.seconds - meanTime) * (mebibytes($1.bytes) - meanBytes) }
        let variance = half.reduce(0) { $0 + ($1.seconds - meanTime) * ($1.seconds - meanTime) }
        let slope = variance > 0 ? covariance / variance * 3600 : 0
        let low = samples.map(\.bytes).min() ?? 0
        let high = samples.map(\.bytes).max() ?? 0
        Console.write(
            String(
                format:
                    "soak memory, %d plugs over %d s: %.1f MiB at start, %.1f MiB at end, %.1f...%.1f MiB, second half slope %+.2f MiB/h (%d samples)",
                figures.plugs, figures.ticks, mebibytes(first.bytes), mebibytes(last.bytes), mebibytes(low),
                mebibytes(high), slope, samples.count
            )
        )
    }

    private func printReadLoad(alone: ReadLoadBench.Window, loaded: ReadLoadBench.Window, prefill: String) {
        Console.write("read load store: \(prefill)")
        func milliseconds(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "not measured" }
        func percentile(_ values: [Double], _ q: Double) -> Double? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, max(0, Int(clampingRounding: Double(sorted.count) * q, .up) - 1))]
        }
        let readers = "\(readLoadClients) readers of /api/v1/power \(readLoadDays) d"
        for (label, window) in [("alone", alone), (readers, loaded)] {
            Console.write(
                "tick write p99, \(label): \(milliseconds(window.writeP99Milliseconds)) (p50 \(milliseconds(window.writeP50Milliseconds)), "
                    + "mean \(milliseconds(window.writeMeanMilliseconds)), \(Int(clampingRounding: window.ticksWritten)) writes; energy_monitor_store_write_duration_seconds)"
            )
            Console.write(
                "/readyz latency, \(label): p50 \(milliseconds(percentile(window.readyz, 0.5))), p99 \(milliseconds(percentile(window.readyz, 0.99))), "
                    + "max \(milliseconds(window.readyz.max())) (\(window.readyz.count) requests, \(window.readyzFailures) not 200)"
            )
            Console.write(
                String(
                    format: "read load ticks delivered, %@: %.1f %% (%d of %d samples)", label,
                    100 * Double(window.storedSamples) / Double(max(1, window.expectedSamples)), window.storedSamples,
                    window.expectedSamples
                )
            )
        }
        let rate = Double(loaded.answers.count) / Double(max(1, loaded.seconds))
        Console.write(
            String(format: "/api/v1/power %d d answers, %@: %.1f/s, ", readLoadDays, readers, rate)
                + "p50 \(milliseconds(percentile(loaded.answers, 0.5))), p99 \(milliseconds(percentile(loaded.answers, 0.99))) "
                + "(\(loaded.answers.count) answers, \(loaded.answerFailures) failed; steps: 300 points, 1h, 15m, 10m)"
        )
    }

    private func printUnmeasured(plugs: Int, transport: String, reason: String) {
        let line = reason.foldedToOneLine(limit: 1000)
        for figure in [
            "poll ticks delivered", "poll CPU", "simulator CPU", "resident memory", "tick timing error p50",
            "tick timing error p99",
        ] {
            Console.write("\(figure), \(plugs) plugs, \(transport): not measured (\(line))")
        }
    }
}

import CurlClient
import EnergyModel
import Exposition
import Foundation
import Store
import Synchronization

/// The read-load part of `bench` (`--read-load`): the service (`simulate` + `run`, as for the
/// poll figures) over a store that already holds `days` days of every plug's samples (folded
/// into minute rows past the 14-day raw retention, as a service running that long has them).
/// Over two windows, first alone and then with `clients` clients asking `/api/v1/power` for
/// the whole stored window in a loop, it reads the tick write time from the service's
/// `energy_monitor_store_write_duration_seconds` histogram, times `/readyz` five times a
/// second, and counts the samples stored.
struct ReadLoadBench {
    /// What one window measured.
    struct Window {
        var ticksWritten: Double
        var writeP50Milliseconds: Double?
        var writeP99Milliseconds: Double?
        var writeMeanMilliseconds: Double?
        /// `/readyz` round trips, milliseconds, and how many did not answer 200.
        var readyz: [Double]
        var readyzFailures: Int
        /// `/api/v1/power` answers: round trips, milliseconds, and failures.
        var answers: [Double]
        var answerFailures: Int
        var storedSamples: Int
        var expectedSamples: Int
        var seconds: Int
    }

    let poll: PollBench
    let plugs: Int
    let days: Int
    let seconds: Int
    let clients: Int

    /// The steps the clients cycle through: the default (300 points), an hour, 15 and 10 minutes.
    static let steps = ["", "1h", "15m", "10m"]

    func run() async throws -> (alone: Window, loaded: Window, prefill: String) {
        let name = "read-load-\(plugs)"
        let folder = poll.folder
        let configPath = folder.appendingPathComponent("\(name).yaml").path
        let databasePath = folder.appendingPathComponent("\(name).db").path
        let prefill = try await fill(databasePath)
        guard let listenPort = BenchChild.freePort() else { throw CommandFailure("no free port for /metrics") }
        let lifetime = String(2 * seconds + 120)
        let simulator = try await poll.startSimulator(
            name: name, plugs: plugs, configPath: configPath, databasePath: databasePath, listenPort: listenPort, lifetime: lifetime
        )
        defer { simulator.stop() }
        let monitor = try BenchChild(
            name: "energy-monitor run", executable: poll.executable,
            arguments: ["run", "--config", configPath, "--log-level", "error", "--duration", lifetime],
            logPath: folder.appendingPathComponent("\(name).run.log").path
        )
        defer { monitor.stop() }
        let base = "http://127.0.0.1:\(listenPort)"
        try await poll.waitUntilReady(base + "/readyz", child: monitor, seconds: 120)
        // Warm-up: every plug detected, the start's retention pass and the first ticks behind.
        try await Task.sleep(for: .seconds(5))
        var alone = try await window(base, readers: 0)
        var loaded = try await window(base, readers: clients)
        guard monitor.isRunning else { throw CommandFailure("the service stopped during the measurement: \(monitor.logTail())") }
        monitor.stop()
        simulator.stop()
        let store = try EnergyStore(path: databasePath, readOnly: true)
        defer { store.close() }
        let window = Int64(clamping: seconds) * 1000
        alone.figures.storedSamples = try await store.sampleCount(
            fromMilliseconds: alone.startMilliseconds, toMilliseconds: alone.startMilliseconds + window
        )
        loaded.figures.storedSamples = try await store.sampleCount(
            fromMilliseconds: loaded.startMilliseconds, toMilliseconds: loaded.startMilliseconds + window
        )
        return (alone.figures, loaded.figures, prefill)
    }

    /// Writes `days` days of 1 Hz samples of every plug's node, ending now, an hour per
    /// transaction, and folds what is past the raw retention; returns a line about it.
    private func fill(_ path: String) async throws -> String {
        let began = WallClockSeconds.now()
        let store = try EnergyStore(path: path)
        defer { store.close() }
        let now = WallClock.nowMilliseconds() / 1000 * 1000
        let start = now - Int64(days) * 86_400_000
        let names = (0..<plugs).map { "sim-\($0)" }
        var second: Int64 = 0
        let total = Int64(days) * 86_400
        while second < total {
            let end = min(total, second + 3600)
            var samples: [Sample] = []
            samples.reserveCapacity(Int(truncatingIfNeeded: end - second) * names.count)
            for tick in second..<end {
                for (index, name) in names.enumerated() {
                    let phase = Double(tick) / 900 + Double(index)
                    let watts = 20 + 40 * max(0, sin(phase)) + Double((tick + Int64(index)) % 13) / 10
                    samples.append(
                        Sample(
                            node: name, timestampMilliseconds: start + tick * 1000 + (tick * 37 + Int64(index) * 11) % 40,
                            reading: Reading(watts: (watts * 10).rounded() / 10, volts: 230, amps: (watts / 230 * 1000).rounded() / 1000)
                        )
                    )
                }
            }
            try await store.write(samples: samples, counters: [:])
            second = end
        }
        var steps = 0
        while true {
            let step = try await store.retentionStep(
                rawCutoffMilliseconds: now - 14 * 86_400_000, minuteCutoffMilliseconds: now - 400 * 86_400_000,
                maxGapMilliseconds: 3000, maxSamples: 500_000
            )
            steps += 1
            guard step.moreToDo else { break }
        }
        try await store.checkpoint()
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        return String(
            format: "%d days of %d plugs (%lld samples, folded past 14 days in %d steps, %.1f MiB) in %.0f s",
            days, plugs, total * Int64(plugs), steps, Double(bytes) / 1_048_576, WallClockSeconds.now() - began
        )
    }

    /// One measured window of `seconds` ticks, with `readers` clients reading meanwhile.
    private func window(_ base: String, readers: Int) async throws -> (figures: Window, startMilliseconds: Int64) {
        let start = (WallClockSeconds.now() + 1).rounded(.down)
        let deadline = start + Double(seconds)
        let answers = Answers()
        let client = poll.client
        let days = self.days
        // The readers start a little before the window, so that it sees them at full strength.
        let readerTasks = (0..<readers).map { index in
            Task {
                var round = index
                while WallClockSeconds.now() < deadline {
                    let step = Self.steps[round % Self.steps.count]
                    round += 1
                    let url = base + "/api/v1/power?from=now-\(days)d" + (step.isEmpty ? "" : "&step=\(step)")
                    let began = WallClockSeconds.now()
                    let response = try? await client.perform(HTTPRequest(url: url, timeoutMilliseconds: 60_000, maxResponseBytes: 64 << 20))
                    let took = (WallClockSeconds.now() - began) * 1000
                    answers.record(response?.status == 200 ? took : nil)
                }
            }
        }
        try await poll.sleep(until: start + 0.05)
        let before = try await poll.scrape(base + "/metrics")
        var readyz: [Double] = []
        var readyzFailures = 0
        var next = start + 0.1
        while next < deadline {
            try await poll.sleep(until: next)
            let began = WallClockSeconds.now()
            let response = try? await client.perform(HTTPRequest(url: base + "/readyz", timeoutMilliseconds: 5000))
            readyz.append((WallClockSeconds.now() - began) * 1000)
            if response?.status != 200 { readyzFailures += 1 }
            next += 0.2
        }
        for task in readerTasks { await task.value }
        // The last tick of the window is polled within 0.8 s and stored right after.
        try await poll.sleep(until: deadline + 1.5)
        let after = try await poll.scrape(base + "/metrics")
        let metric = "energy_monitor_store_write_duration_seconds"
        let writes = ExpositionReader.difference(after.buckets(metric), before.buckets(metric))
        let count = (after.sum(metric + "_count") ?? 0) - (before.sum(metric + "_count") ?? 0)
        let sum = (after.sum(metric + "_sum") ?? 0) - (before.sum(metric + "_sum") ?? 0)
        let (times, failures) = answers.state.withLock { ($0.times, $0.failures) }
        let figures = Window(
            ticksWritten: count,
            writeP50Milliseconds: ExpositionReader.quantile(0.5, of: writes).map { $0 * 1000 },
            writeP99Milliseconds: ExpositionReader.quantile(0.99, of: writes).map { $0 * 1000 },
            writeMeanMilliseconds: count > 0 ? sum / count * 1000 : nil,
            readyz: readyz, readyzFailures: readyzFailures, answers: times, answerFailures: failures,
            storedSamples: 0, expectedSamples: plugs * seconds, seconds: seconds
        )
        return (figures, Int64(clampingRounding: start) * 1000)
    }

    /// The readers' answers: round trips of those that came back 200, and the others.
    private final class Answers: Sendable {
        let state = Mutex<(times: [Double], failures: Int)>(([], 0))

        func record(_ milliseconds: Double?) {
            state.withLock { state in
                if let milliseconds { state.times.append(milliseconds) } else { state.failures += 1 }
            }
        }
    }
}

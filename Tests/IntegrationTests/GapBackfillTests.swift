import EnergyModel
import Exposition
import Foundation
import JSON
import ShellySimulator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The monitor killed (SIGKILL) while the plugs keep drawing, then started again: the gap is
/// closed from the devices' own counters, per-minute figures and history, and `energy` over a
/// window spanning it agrees with the simulator's exact integral of its own power. The real
/// binary runs as `simulate` and as `run`, both on one shifted wall clock (the wall-clock
/// shim), so that a gap of 20 minutes or 2 hours passes in a moment: the clock is moved on
/// while the monitor is down, as time passes for the plugs.
@Suite("Gaps closed from the devices' own figures, end to end", .serialized)
struct GapBackfillTests {
    /// `simulate` and `run` in `folder`, both on the shim's clock.
    struct Service {
        var simulator: ChildProcess
        var monitor: ChildProcess
        let base: String
        let folder: String
        let shim: WallClockShim
        /// The shim's offset, seconds.
        var offset = 0.0
        var restarts = 0

        static func start(_ folder: String, plugs: Int, extra: [String]) async throws -> Service {
            let shim = try await WallClockShim(folder: folder)
            let port = TestEnvironment.freePorts(plugs)
            let listen = TestEnvironment.freePorts(1)
            let simulator = try ChildProcess(
                TestPaths.binary,
                [
                    "simulate", "--plugs", "\(plugs)", "--port", "\(port)", "--write-config", folder + "/config.yaml",
                    "--database", folder + "/energy.db", "--listen", "127.0.0.1:\(listen)",
                ] + extra, in: folder, name: "simulate", environment: shim.environment)
            let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
            try #require(written, "simulator: \(simulator.stderr)")
            var service = Service(
                simulator: simulator, monitor: simulator, base: "http://127.0.0.1:\(listen)", folder: folder, shim: shim
            )
            try await service.startMonitor()
            return service
        }

        mutating func startMonitor() async throws {
            monitor = try ChildProcess(
                TestPaths.binary, ["run", "--config", folder + "/config.yaml"], in: folder, name: "run\(restarts)",
                environment: shim.environment)
            restarts += 1
            let base = self.base
            let ready = await eventually(within: .seconds(30)) {
                await TestEnvironment.get(base + "/readyz")?.status == 200
            }
            try #require(ready, "service not ready: \(monitor.stderr.suffix(1500))")
        }

        /// Kills the monitor with SIGKILL (no chance to write anything more) and waits for it.
        func killMonitor() async {
            kill(monitor.pid, SIGKILL)
            _ = await monitor.waitForExit(timeout: .seconds(10))
        }

        /// Moves both processes' wall clock `seconds` on.
        mutating func advance(_ seconds: Double) throws {
            offset += seconds
            try shim.set(offsetSeconds: offset)
        }

        /// Now on the shifted clock, unix seconds.
        var now: Double { Date().timeIntervalSince1970 + offset }

        func metrics() async -> ExpositionReader {
            ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
        }

        func stop() {
            monitor.end()
            simulator.end()
        }
    }

    /// A metric's value for a node and one more label (`source` or `outcome`), 0 when absent.
    static func value(_ metrics: ExpositionReader, _ name: String, node: String, _ label: String, _ value: String)
        -> Double
    {
        for line in metrics.lines where line.hasPrefix(name + "{") {
            guard line.contains("node=\"\(node)\""), line.contains("\(label)=\"\(value)\""),
                let figure = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            return figure
        }
        return 0
    }

    /// `node -> (newest ts, count)` of the `power` view.
    static func newest(_ database: String) async throws -> [String: (ts: Double, count: Int)] {
        let rows = try await sqliteRows(database, "SELECT node, max(ts), count(*) FROM power GROUP BY node")
        var result: [String: (Double, Int)] = [:]
        for row in rows where row.count == 3 {
            if let ts = Double(row[1]), let count = Int(row[2]) { result[row[0]] = (ts, count) }
        }
        return result
    }

    /// The first sample of `node` after `ts`, unix seconds.
    static func firstAfter(_ database: String, node: String, _ ts: Double) async throws -> Double? {
        let rows = try await sqliteRows(
            database, "SELECT min(ts) FROM power WHERE node = '\(node)' AND ts > \(String(format: "%.3f", ts))")
        return rows.first?.first.flatMap { Double($0) }
    }

    /// `energy --format json` for one node's window.
    static func energy(_ database: String, node: String, from: Double, to: Double) async throws -> [String: Double] {
        let result = try await runBinary([
            "energy", "--database", database, "--node", node, "--from", String(format: "%.3f", from), "--to",
            String(format: "%.3f", to), "--format", "json",
        ])
        try #require(result.status == 0, "energy: \(result.stderr)")
        let entry = try #require(JSONValue.parse(Array(result.stdout.utf8))?[0], "energy: \(result.stdout)")
        var figures: [String: Double] = [:]
        for key in [
            "joules", "measuredJoules", "backfilledJoules", "coveragePercent", "backfilledPercent", "missingPercent",
        ] {
            figures[key] = try #require(entry[key]?.number, "\(key) in \(result.stdout)")
        }
        return figures
    }

    /// Waits (bounded) until the shifted clock stands `second` seconds into a minute that began
    /// after `after` (unix seconds): a gap starting then crosses a minute boundary, and the
    /// samples measured the whole minute before it.
    static func waitForSecondOfMinute(_ second: Double, after: Double, _ service: Service) async {
        _ = await eventually(within: .seconds(130), every: .milliseconds(100)) {
            let now = service.now
            let position = now.truncatingRemainder(dividingBy: 60)
            return now - position > after && position >= second && position < second + 3
        }
    }

    /// One gap of `seconds` (simulated) on a Gen1 and a Gen2 plug; `energy` around it against
    /// the profiles' exact integrals.
    @Test(
        "a SIGKILLed monitor: energy over a window spanning the gap within 0.5 % of the exact integral",
        arguments: [30.0, 150.0, 1200.0])
    func counterGap(seconds: Double) async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("gap-\(Int(seconds))")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        var service = try await Service.start(folder, plugs: 2, extra: ["--generations", "1,2"])
        defer { service.stop() }
        let nodes = ["sim-0", "sim-1"]
        let gaps = try await Self.gap(of: seconds, &service, nodes: nodes)
        let metrics = await service.metrics()
        var backfilledByNode: [String: Double] = [:]
        for (index, node) in nodes.enumerated() {
            let gapStart = try #require(gaps[node]?.start)
            let gapEnd = try #require(gaps[node]?.end)
            let profile = LoadProfile.generic(index: index)
            let resolution = index == 0 ? 60.0 : 3.6  // a watt-minute (Gen1), a milliwatt-hour (Gen2)
            // The window spanning the gap, 15 s of samples on either side.
            let from = gapStart - 15
            let to = gapEnd + 15
            let figures = try await Self.energy(database, node: node, from: from, to: to)
            let exact = profile.exactJoules(from: from, to: to)
            let joules = try #require(figures["joules"])
            let error = 100 * (joules - exact) / exact
            let backfilled = try #require(figures["backfilledJoules"])
            backfilledByNode[node] = backfilled
            let exactGap = profile.exactJoules(from: gapStart, to: gapEnd)
            print(
                String(
                    format:
                        "gap %.0f s on %@ (%.1f s): %.2f J, exact %.2f J, error %+.3f %%; backfilled %.2f J "
                        + "(%.1f %% of the window), exact over the gap %.2f J (%+.2f J)",
                    seconds, node, gapEnd - gapStart, joules, exact, error, backfilled,
                    figures["backfilledPercent"] ?? 0, exactGap, backfilled - exactGap))
            #expect(abs(error) < 0.5, "\(node): \(figures), exact \(exact) J")
            #expect(abs(joules - (figures["measuredJoules"] ?? 0) - backfilled) < 0.01)
            #expect((figures["missingPercent"] ?? 100) < 0.5, "\(node): \(figures)")
            #expect((figures["coveragePercent"] ?? 100) < 100 - 100 * (seconds - 5) / (to - from))
            // The gap's energy, from the counter and the per-minute figures: exact to the device's
            // resolution (and to the few milliseconds between its reading and the sample's stamp).
            #expect(abs(backfilled - exactGap) <= 2 * resolution + 2, "\(node): \(backfilled) J, exact \(exactGap) J")
            #expect(Self.value(metrics, "energy_monitor_gap_seconds_total", node: node, "outcome", "backfilled") > 0)
            let sources = ["counter", "minutes"].map {
                Self.value(metrics, "energy_monitor_backfilled_joules_total", node: node, "source", $0)
            }
            #expect(abs(sources.reduce(0, +) - backfilled) < 0.01, "\(node): metrics \(sources), energy \(backfilled)")
            for outcome in ["device_rebooted", "implausible", "no_counter"] {
                #expect(
                    Self.value(metrics, "energy_monitor_gap_seconds_total", node: node, "outcome", outcome) == 0,
                    "\(node): \(outcome)")
            }
            if seconds < 600 {
                // Minute-resolved: the gap's whole minutes (the first one partly measured) carry
                // the device's own figures for them.
                let firstMinute = (gapStart / 60).rounded(.down) * 60
                let lastMinute = (gapEnd / 60).rounded(.down) * 60
                try #require(lastMinute > firstMinute, "the gap \(gapStart)...\(gapEnd) crosses no minute boundary")
                #expect(sources[1] > 0, "\(node): no energy placed by the device's per-minute figures")
                let minutes = try await Self.energy(database, node: node, from: firstMinute, to: lastMinute)
                let exactMinutes = profile.exactJoules(from: firstMinute, to: lastMinute)
                let minuteError = 100 * ((minutes["joules"] ?? 0) - exactMinutes) / exactMinutes
                print(
                    String(
                        format: "gap %.0f s on %@, whole minutes %.0f...%.0f: %.2f J, exact %.2f J, error %+.3f %%",
                        seconds, node, firstMinute, lastMinute, minutes["joules"] ?? 0, exactMinutes, minuteError))
                #expect(abs(minuteError) < 0.5, "\(node) minutes: \(minutes), exact \(exactMinutes) J")
            }
        }
        // A plain SELECT over power_minute: its backfilled rows hold the gap's energy.
        for node in nodes {
            let rows = try await sqliteRows(
                database, "SELECT sum(backfilled * joules) FROM power_minute WHERE node = '\(node)'")
            let stored = try #require(rows.first?.first.flatMap { Double($0) }, "\(rows)")
            #expect(abs(stored - (backfilledByNode[node] ?? 0)) < 0.01, "\(node): \(stored) J in power_minute")
        }
    }

    /// Kills the monitor late in a minute, moves the clock `seconds` on and starts it again;
    /// returns each node's gap (last sample before, first after) once 20 s of samples follow it.
    static func gap(
        of seconds: Double, _ service: inout Service, nodes: [String], afterwards: Double = 20
    ) async throws -> [String: (start: Double, end: Double)] {
        let database = service.folder + "/energy.db"
        let warmed = await eventually(within: .seconds(60)) {
            let newest = (try? await Self.newest(database)) ?? [:]
            return nodes.allSatisfy { (newest[$0]?.count ?? 0) >= 20 }
        }
        try #require(warmed, "no samples: \(service.monitor.stderr.suffix(1500))")
        let first = try await sqliteRows(
            database, "SELECT max(first) FROM (SELECT min(ts) AS first FROM power GROUP BY node)")
        let firstSample = try #require(first.first?.first.flatMap { Double($0) }, "\(first)")
        await Self.waitForSecondOfMinute(42, after: firstSample + 1, service)
        await service.killMonitor()
        try service.advance(seconds)
        let before = try await Self.newest(database)
        try await service.startMonitor()
        var ends: [String: Double] = [:]
        let followed = await eventually(within: .seconds(60), every: .milliseconds(250)) {
            for node in nodes where ends[node] == nil {
                guard let start = before[node]?.ts, let end = try? await Self.firstAfter(database, node: node, start)
                else { continue }
                ends[node] = end
            }
            let newest = (try? await Self.newest(database)) ?? [:]
            return nodes.allSatisfy { node in
                guard let end = ends[node], let last = newest[node]?.ts else { return false }
                return last >= end + afterwards
            }
        }
        try #require(followed, "no samples after the restart: \(service.monitor.stderr.suffix(1500))")
        // A gap whose last minute was running when it ended is settled once a later status has
        // that minute's figure; a history is read once the minute is over.
        let settled = await eventually(within: .seconds(150), every: .milliseconds(500)) { [service] in
            let metrics = await service.metrics()
            return nodes.allSatisfy { node in
                metrics.lines.contains { line in
                    line.hasPrefix("energy_monitor_gap_seconds_total{") && line.contains("node=\"\(node)\"")
                        && (line.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0
                }
            }
        }
        try #require(settled, "no gap settled: \(service.monitor.stderr.suffix(1500))")
        var gaps: [String: (start: Double, end: Double)] = [:]
        for node in nodes {
            gaps[node] = (try #require(before[node]?.ts), try #require(ends[node]))
        }
        return gaps
    }

    @Test(
        "a plug rebooted in the gap, a counter that went down and one that jumped absurdly leave honest gaps, counted and logged once"
    )
    func refusedGaps() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("gap-refused")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        // Gen1 and Gen2 alternate; the last plug is honest.
        let faults = [
            "reboot", "reboot", "gap-counter-drop", "gap-counter-jump", "gap-counter-drop", "gap-counter-jump",
        ]
        let expected = [
            "device_rebooted", "device_rebooted", "implausible", "implausible", "implausible", "implausible",
        ]
        let nodes = (0...faults.count).map { "sim-\($0)" }
        var service = try await Service.start(
            folder, plugs: nodes.count,
            extra: ["--generations", "1,2"] + faults.enumerated().flatMap { ["--fault", "\($0.offset)=\($0.element)"] })
        defer { service.stop() }
        let gaps = try await Self.gap(of: 30, &service, nodes: nodes)
        let metrics = await service.metrics()
        let log = service.monitor.stderr
        for (index, node) in nodes.enumerated() {
            let gap = try #require(gaps[node])
            let figures = try await Self.energy(database, node: node, from: gap.start - 10, to: gap.end + 10)
            let outcome = index < faults.count ? expected[index] : "backfilled"
            let counted = Self.value(metrics, "energy_monitor_gap_seconds_total", node: node, "outcome", outcome)
            let backfilled = ["counter", "minutes", "history"].reduce(0.0) {
                $0 + Self.value(metrics, "energy_monitor_backfilled_joules_total", node: node, "source", $1)
            }
            let fault = index < faults.count ? faults[index] : "honest"
            print(
                String(
                    format: "gap 30 s on %@ (%@): %@ %.1f s, backfilled %.2f J, missing %.1f %%", node, fault, outcome,
                    counted, figures["backfilledJoules"] ?? -1, figures["missingPercent"] ?? -1))
            #expect(abs(counted - (gap.end - gap.start)) < 1, "\(node) (\(fault)): \(outcome) \(counted) s")
            let lines = log.split(separator: "\n").filter {
                $0.contains("node=\(node) ") && ($0.contains("gap stays a gap") || $0.contains("gap closed"))
            }
            #expect(lines.count == 1, "\(node): \(lines)")
            if index < faults.count {
                #expect(backfilled == 0 && figures["backfilledJoules"] == 0, "\(node) (\(fault)): \(figures)")
                #expect((figures["missingPercent"] ?? 0) > 50 * 30 / (gap.end - gap.start + 20), "\(node): \(figures)")
                #expect(lines.first?.contains("outcome=\(outcome)") == true, "\(node): \(lines)")
            } else {
                #expect(backfilled > 0 && (figures["missingPercent"] ?? 100) < 0.5, "\(node): \(figures)")
            }
        }
    }

    /// A Pro 3EM (`EMData.GetData`, the three phases' sum) and a Gen1 3EM (phase A's
    /// `emeter/0/em_data.csv`).
    @Test("a 3EM's history closes a 2-hour outage minute by minute", arguments: [2, 1])
    func emDataHistory(generation: Int) async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("gap-emdata")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/energy.db"
        var service = try await Service.start(
            folder, plugs: 1, extra: ["--generations", "\(generation)", "--models", "3em"])
        defer { service.stop() }
        let node = "sim-0"
        let gap = try #require(try await Self.gap(of: 7200, &service, nodes: [node], afterwards: 5)[node])
        // The history is read once the gap's last minute is over.
        let read = await eventually(within: .seconds(120), every: .milliseconds(500)) {
            let metrics = await service.metrics()
            return Self.value(metrics, "energy_monitor_backfilled_joules_total", node: node, "source", "history") > 0
        }
        try #require(read, "no history read: \(service.monitor.stderr.suffix(2000))")
        let metrics = await service.metrics()
        let profile = LoadProfile.generic(index: 0)
        // The node's power: all phases on the Pro 3EM, phase A (the configured channel) on Gen1.
        let share = generation == 1 ? SimulatedModel.phaseShares[0] : 1
        let from = gap.start - 15
        let to = gap.end + 5
        let figures = try await Self.energy(database, node: node, from: from, to: to)
        let exact = share * profile.exactJoules(from: from, to: to)
        let error = 100 * ((figures["joules"] ?? 0) - exact) / exact
        print(
            String(
                format:
                    "3EM Gen\(generation) history gap %.1f s: %.2f J, exact %.2f J, error %+.3f %%, backfilled %.2f J (%.1f %%)",
                gap.end - gap.start, figures["joules"] ?? 0, exact, error, figures["backfilledJoules"] ?? 0,
                figures["backfilledPercent"] ?? 0))
        #expect(abs(error) < 0.5, "\(figures), exact \(exact) J")
        #expect((figures["missingPercent"] ?? 100) < 0.5, "\(figures)")
        // Minute by minute: an hour in the middle of the outage, from the records alone.
        let hour = (gap.start / 60).rounded(.up) * 60 + 1800
        let middle = try await Self.energy(database, node: node, from: hour, to: hour + 3600)
        let exactHour = share * profile.exactJoules(from: hour, to: hour + 3600)
        let hourError = 100 * ((middle["joules"] ?? 0) - exactHour) / exactHour
        print(
            String(
                format:
                    "3EM Gen\(generation) history, one hour inside the outage: %.2f J, exact %.2f J, error %+.3f %%",
                middle["joules"] ?? 0, exactHour, hourError))
        #expect(abs(hourError) < 0.5, "\(middle), exact \(exactHour) J")
        #expect(middle["backfilledPercent"] ?? 0 > 99.9, "\(middle)")
        #expect(Self.value(metrics, "energy_monitor_gap_seconds_total", node: node, "outcome", "backfilled") > 7000)
        let sources = try await sqliteRows(
            database,
            "SELECT source, count(*) FROM power_minute WHERE node = '\(node)' AND backfilled = 1 GROUP BY source")
        #expect(sources.contains { $0.first == "history" && Int($0[1]) ?? 0 >= 119 }, "\(sources)")
    }
}

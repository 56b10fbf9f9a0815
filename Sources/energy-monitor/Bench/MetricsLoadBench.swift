import CurlClient
import Foundation

/// The `/metrics` part of `bench`: requests per second under a concurrent load client, for
/// the service and for prometheus-node-exporter serving a text file of the same size.
struct MetricsLoadBench {
    /// The outcome of one load run.
    struct Throughput {
        var requestsPerSecond: Double
        var errors: Int
        var tool: String
    }

    let folder: URL
    let client: CurlMultiClient
    let connections: Int
    let seconds: Int

    /// Loads the service's `/metrics` at `url`, then node-exporter with the same body, and
    /// prints one line each and their ratio; whatever is missing is said so on its line.
    func run(serviceURL url: String, plugs: Int) async {
        let body: [UInt8]
        do {
            let response = try await client.perform(HTTPRequest(url: url, timeoutMilliseconds: 5000, maxResponseBytes: 64 << 20))
            guard response.status == 200 else { throw CommandFailure("HTTP \(response.status)") }
            body = response.body
        } catch {
            Console.write("/metrics requests/s, energy-monitor: not measured (\(url): \(error))")
            Console.write("/metrics requests/s, prometheus-node-exporter textfile: not measured (no body to serve)")
            Console.write("/metrics requests/s ratio: not measured")
            return
        }
        let size = String(format: "%.1f KiB", Double(body.count) / 1024)
        let service = await load(url)
        switch service {
        case .success(let figure):
            let rate = String(format: "%.0f", figure.requestsPerSecond)
            Console.write(
                "/metrics requests/s, energy-monitor: \(rate) (\(figure.tool), \(figure.errors) errors, \(size) body, \(plugs) plugs)"
            )
        case .failure(let error):
            Console.write("/metrics requests/s, energy-monitor: not measured (\(error.description))")
        }
        let exporter = await loadNodeExporter(body: body)
        switch exporter {
        case .success(let figure):
            let rate = String(format: "%.0f", figure.requestsPerSecond)
            Console.write(
                "/metrics requests/s, prometheus-node-exporter textfile: \(rate) (\(figure.tool), \(figure.errors) errors, "
                    + "the same \(size) as a .prom file)"
            )
        case .failure(let error):
            Console.write("/metrics requests/s, prometheus-node-exporter textfile: not measured (\(error.description))")
        }
        if case .success(let ours) = service, case .success(let theirs) = exporter, theirs.requestsPerSecond > 0 {
            Console.write(String(format: "/metrics requests/s ratio: %.2fx (energy-monitor / node-exporter)", ours.requestsPerSecond / theirs.requestsPerSecond))
        } else {
            Console.write("/metrics requests/s ratio: not measured (one side is missing)")
        }
    }

    private func loadNodeExporter(body: [UInt8]) async -> Result<Throughput, CommandFailure> {
        guard let binary = BenchChild.find("prometheus-node-exporter") ?? BenchChild.find("node_exporter") else {
            return .failure(CommandFailure("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)"))
        }
        let textfiles = folder.appendingPathComponent("textfile")
        do {
            try FileManager.default.createDirectory(at: textfiles, withIntermediateDirectories: true)
            try Data(body).write(to: textfiles.appendingPathComponent("energy.prom"))
        } catch {
            return .failure(CommandFailure("cannot write the .prom file: \(error.localizedDescription)"))
        }
        guard let port = BenchChild.freePort() else { return .failure(CommandFailure("no free port")) }
        let exporter: BenchChild
        do {
            exporter = try BenchChild(
                name: "prometheus-node-exporter", executable: binary,
                arguments: [
                    "--collector.disable-defaults", "--collector.textfile", "--collector.textfile.directory=\(textfiles.path)",
                    "--web.disable-exporter-metrics", "--web.listen-address=127.0.0.1:\(port)",
                ],
                logPath: folder.appendingPathComponent("node-exporter.log").path
            )
        } catch {
            return .failure(CommandFailure("\(error)"))
        }
        defer { exporter.stop() }
        let url = "http://127.0.0.1:\(port)/metrics"
        let deadline = WallClockSeconds.now() + 10
        var ready = false
        while !ready, exporter.isRunning, WallClockSeconds.now() < deadline {
            if let response = try? await client.perform(HTTPRequest(url: url, timeoutMilliseconds: 1000, maxResponseBytes: 64 << 20)),
                response.status == 200
            {
                ready = true
            } else {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        guard ready else { return .failure(CommandFailure("node-exporter did not answer: \(exporter.logTail(1))")) }
        return await load(url)
    }

    /// Requests per second against `url`: wrk when installed, else an in-process client.
    private func load(_ url: String) async -> Result<Throughput, CommandFailure> {
        if let wrk = BenchChild.find("wrk") {
            return await loadWithWrk(wrk, url)
        }
        return .success(await loadInProcess(url))
    }

    private func loadWithWrk(_ wrk: String, _ url: String) async -> Result<Throughput, CommandFailure> {
        let logPath = folder.appendingPathComponent("wrk-\(UUID().uuidString).log").path
        let threads = max(1, min(2, connections))
        let child: BenchChild
        do {
            child = try BenchChild(
                name: "wrk", executable: wrk,
                arguments: ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", url], logPath: logPath
            )
        } catch {
            return .failure(CommandFailure("\(error)"))
        }
        defer { child.stop() }
        guard await child.waitForExit(seconds: Double(seconds) + 15) else {
            return .failure(CommandFailure("wrk did not finish"))
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        var rate: Double?
        var errors = 0
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "Requests/sec" { rate = Double(parts[1]) }
            if parts[0] == "Non-2xx or 3xx responses" { errors += Int(parts[1]) ?? 0 }
            if parts[0] == "Socket errors" {
                // "connect 0, read 0, write 0, timeout 0"
                errors += parts[1].split(separator: ",").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
            }
        }
        guard let rate else { return .failure(CommandFailure("wrk printed no rate: \(child.logTail(2))")) }
        return .success(Throughput(requestsPerSecond: rate, errors: errors, tool: "wrk -t\(threads) -c\(connections) -d\(seconds)s"))
    }

    /// `connections` concurrent request loops on one libcurl multi handle.
    private func loadInProcess(_ url: String) async -> Throughput {
        let deadline = WallClockSeconds.now() + Double(seconds)
        let started = WallClockSeconds.now()
        let client = self.client
        let (done, failed) = await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<connections {
                group.addTask {
                    var done = 0
                    var failed = 0
                    while WallClockSeconds.now() < deadline {
                        let response = try? await client.perform(HTTPRequest(url: url, timeoutMilliseconds: 5000, maxResponseBytes: 64 << 20))
                        if response?.status == 200 { done += 1 } else { failed += 1 }
                    }
                    return (done, failed)
                }
            }
            var total = (0, 0)
            for await (done, failed) in group { total = (total.0 + done, total.1 + failed) }
            return total
        }
        let elapsed = max(WallClockSeconds.now() - started, 0.001)
        return Throughput(
            requestsPerSecond: Double(done) / elapsed, errors: failed,
            tool: "in-process libcurl client, \(connections) loops, \(seconds) s (wrk not installed)"
        )
    }
}

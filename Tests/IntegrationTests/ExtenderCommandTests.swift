import CurlClient
import Foundation
import Scoring
import TestSupport
import Testing

@Suite(
    "energy-monitor extender",
    .enabled(
        if: TestPaths.binaryAvailable,
        "build the tool first (swift build --product energy-monitor): .build/debug/energy-monitor is absent")
)
struct ExtenderCommandTests {
    @Test("the command serves prioritize, healthz and metrics on loopback and stops cleanly on SIGTERM")
    func servesAndStops() async throws {
        let scratch = try TemporaryDirectory()
        let outPath = scratch.path("stdout")
        let errPath = scratch.path("stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        // Through an exec wrapper that restores default SIGTERM handling: this test process may
        // ignore or block it (services run in-process), and the child would inherit that.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import os, signal, sys\nfor s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_DFL)\n"
                + "signal.pthread_sigmask(signal.SIG_SETMASK, [])\nos.execv(sys.argv[1], sys.argv[1:])",
            TestPaths.binary,
            "extender", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--listen", "127.0.0.1:0",
            "--log-level", "warning",
        ]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        // The command prints the bound address once the socket is listening.
        var base: String?
        _ = await eventually(within: .seconds(10)) {
            let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            base = text.split(separator: "\n").first { $0.hasPrefix("extender listening on ") }
                .map { String($0.dropFirst("extender listening on ".count)) }
            return base != nil || !process.isRunning
        }
        let url = try #require(
            base, "no listening line; stderr: \((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")")
        #expect(url.hasPrefix("http://127.0.0.1:"))

        let client = CurlMultiClient()
        defer { client.shutdown() }
        let health = try await client.perform(HTTPRequest(url: url + "/healthz"))
        #expect(health.status == 200)

        let args = ExtenderArgs(
            pod: ExtenderPod(
                metadata: ObjectMetadata(
                    name: "ml-train-job-x",
                    labels: ["app": "ml-workflow", "workload-profile": "training"],
                    annotations: ["scheduler.policy/performance-weight": "1.0"]
                )
            ),
            nodes: ExtenderNodeList(items: ["tvpc", "wyse", "rpi"].map { ExtenderNode(name: $0) }),
            nodeNames: nil
        )
        let response = try await client.perform(
            HTTPRequest(
                url: url + "/scheduler/prioritize", method: "POST", headers: ["Content-Type: application/json"],
                body: Array(try JSONEncoder().encode(args))
            )
        )
        #expect(response.status == 200)
        // Training at weight 1: tvpc's GPU variant (1715.98 it/min) is the profile's best;
        // wyse 17.44 / 1715.98 = 1.0 % -> 1 -> 0; rpi 0.
        #expect(
            try JSONDecoder().decode([HostPriority].self, from: Data(response.body)) == [
                HostPriority(host: "tvpc", score: 10), HostPriority(host: "wyse", score: 0),
                HostPriority(host: "rpi", score: 0),
            ])
        let metrics = String(decoding: try await client.perform(HTTPRequest(url: url + "/metrics")).body, as: UTF8.self)
        #expect(metrics.contains(#"energy_monitor_extender_requests_total{endpoint="prioritize",code="200"} 1"#))
        // No power annotations on these nodes: one power_missing per node.
        #expect(metrics.contains(#"energy_monitor_scoring_diagnostics_total{reason="power_missing"} 3"#))

        process.terminate()  // SIGTERM: graceful shutdown
        let exited = await eventually(within: .seconds(10)) { !process.isRunning }
        #expect(exited, "still running 10 s after SIGTERM")
        if exited {
            process.waitUntilExit()
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 0)
        }
    }

    @Test("--metrics-listen: a listener of GET /metrics and /healthz only; the scheduler's calls stay on --listen")
    func metricsListener() async throws {
        let scratch = try TemporaryDirectory()
        let extender = try ChildProcess(
            TestPaths.binary,
            [
                "extender", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--listen", "127.0.0.1:0",
                "--metrics-listen", "127.0.0.1:0", "--log-level", "warning",
            ],
            in: scratch.path, name: "extender")
        defer { extender.end() }
        // Each listener prints its address once its socket is bound.
        func address(_ prefix: String) -> String? {
            extender.stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
                String($0.dropFirst(prefix.count))
            }
        }
        _ = await eventually(within: .seconds(10)) {
            (address("extender listening on ") != nil && address("extender metrics listening on ") != nil)
                || !extender.isRunning
        }
        let scheduler = try #require(address("extender listening on "), "no listening line: \(extender.output)")
        let metrics = try #require(address("extender metrics listening on "), "no metrics line: \(extender.output)")
        #expect(scheduler != metrics)

        let client = CurlMultiClient()
        defer { client.shutdown() }
        let args = ExtenderArgs(
            pod: ExtenderPod(
                metadata: ObjectMetadata(
                    name: "ml-train-job-x",
                    labels: ["app": "ml-workflow", "workload-profile": "training"],
                    annotations: ["scheduler.policy/performance-weight": "1.0"]
                )
            ),
            nodes: ExtenderNodeList(items: ["tvpc", "wyse", "rpi"].map { ExtenderNode(name: $0) }),
            nodeNames: nil
        )
        func prioritize(_ base: String) async throws -> HTTPResponse {
            try await client.perform(
                HTTPRequest(
                    url: base + "/scheduler/prioritize", method: "POST", headers: ["Content-Type: application/json"],
                    body: Array(try JSONEncoder().encode(args))
                )
            )
        }
        #expect(try await prioritize(scheduler).status == 200)
        // The scoring routes are not on the metrics listener: nothing there is scored or counted.
        #expect(try await prioritize(metrics).status == 404)
        let health = try await client.perform(HTTPRequest(url: metrics + "/healthz"))
        #expect(health.status == 200)
        #expect(String(decoding: health.body, as: UTF8.self) == "ok\n")
        let scrape = try await client.perform(HTTPRequest(url: metrics + "/metrics"))
        #expect(scrape.status == 200)
        #expect(scrape.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        // The same counters as the scheduler's listener serves: one call, the one on --listen.
        let text = String(decoding: scrape.body, as: UTF8.self)
        #expect(
            text.contains(#"energy_monitor_extender_requests_total{endpoint="prioritize",code="200"} 1"#), "\(text)")
        #expect(!text.contains(#"code="404""#), "\(text)")
        let same = String(
            decoding: try await client.perform(HTTPRequest(url: scheduler + "/metrics")).body, as: UTF8.self)
        #expect(same.contains(#"energy_monitor_extender_requests_total{endpoint="prioritize",code="200"} 1"#))
        // SIGTERM ends both listeners and the process cleanly.
        #expect(extender.stop() == 0, "\(extender.output)")
    }

    @Test(
        "a bad knowledge base or listen address stops the command with one line",
        arguments: [
            (
                ["--knowledge-base", "/nonexistent/profiles.yaml"],
                "--knowledge-base: /nonexistent/profiles.yaml: cannot read"
            ),
            (["--listen", "127.0.0.1"], "--listen: \"127.0.0.1\" is not HOST:PORT"),
            (["--reload-interval", "0"], "--reload-interval: 0.0 is not a number of seconds in 0.05...3600.0"),
            (["--max-body-bytes", "9223372036854775807"], "--max-body-bytes must be between 1024 and 1073741824"),
            (["--metrics-listen", "0.0.0.0"], "--metrics-listen: \"0.0.0.0\" is not HOST:PORT"),
            (
                ["--listen", "127.0.0.1:8888", "--metrics-listen", "0.0.0.0:8888"],
                "--metrics-listen: port 8888 is --listen's"
            ),
        ]
    )
    func badInput(override: [String], message: String) async throws {
        var arguments = ["extender", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--listen", "127.0.0.1:0"]
        // Option and value pairs: each replaces the default's value, or is added.
        for option in stride(from: 0, to: override.count, by: 2) {
            if let index = arguments.firstIndex(of: override[option]) {
                arguments[index + 1] = override[option + 1]
            } else {
                arguments += [override[option], override[option + 1]]
            }
        }
        let result = try await runBinary(arguments, timeout: .seconds(10))
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}

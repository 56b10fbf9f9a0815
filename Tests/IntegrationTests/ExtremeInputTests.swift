import Foundation
import Store
import TestSupport
import Testing

/// Extreme numbers (beyond Int64 and Double, negative zero, subnormal, 400 digits) in every
/// HTTP parameter and every numeric command-line option of the real binary: each gets an
/// answer or one error line, never a trap, and the service keeps answering `/healthz`.
@Suite("Extreme input end to end", .serialized)
struct ExtremeInputTests {
    /// What a trap leaves on standard error.
    static let trapMarkers = [
        "Fatal error", "Stack dump", "Current stack trace", "Illegal instruction", "Trace/breakpoint",
    ]

    static func encoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    @Test("every /api/v1 parameter: 400 with one line, or an answer; /healthz still answers after all of them")
    func httpParameters() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("extreme-http")
        let service = try await FaultIntegrationTests.start(
            folder, plugs: 2, database: folder + "/energy.db", extra: [])
        defer { service.stop() }
        var refused = 0
        var answered = 0
        let endpoints: [(path: String, parameters: [String], forms: @Sendable (String) -> [String])] = [
            ("power", ["node", "from", "to", "step"], { [$0, "now-\($0)s", "\($0)ms"] }),
            ("energy", ["node", "from", "to"], { [$0, "now-\($0)s"] }),
            ("pods/power", ["node", "from", "to"], { [$0, "now-\($0)s"] }),
        ]
        for endpoint in endpoints {
            for parameter in endpoint.parameters {
                for literal in ExtremeNumbers.literals {
                    for value in endpoint.forms(literal) {
                        let url = "\(service.base)/api/v1/\(endpoint.path)?\(parameter)=\(Self.encoded(value))"
                        let response = try #require(
                            await TestEnvironment.get(url, timeoutMilliseconds: 10_000), "no answer to \(url)")
                        let body = String(decoding: response.body, as: UTF8.self)
                        if response.status == 400 {
                            refused += 1
                            #expect(
                                body.hasPrefix("bad request: \(parameter): ") && body.split(separator: "\n").count == 1,
                                "\(url): \(body)")
                        } else {
                            answered += 1
                            #expect(response.status == 200, "\(url): \(response.status) \(body.prefix(200))")
                        }
                    }
                }
            }
        }
        // The same literals where a list of numbers or names is read.
        for literal in ExtremeNumbers.literals {
            let response = await TestEnvironment.get("\(service.base)/api/v1/nodes?now=\(Self.encoded(literal))")
            #expect(response?.status == 200)
        }
        #expect(refused > 100, "refused \(refused), answered \(answered)")
        #expect(await TestEnvironment.get(service.base + "/healthz")?.status == 200, "the service stopped answering")
        #expect(service.monitor.isRunning)
        let log = service.monitor.stderr
        #expect(!Self.trapMarkers.contains { log.contains($0) }, "\(log.suffix(2000))")
        print("extreme /api/v1 parameters: \(refused) refused with 400, \(answered) answered; /healthz 200 after them")
    }

    /// A numeric option of a command, with arguments that make a run with an accepted value end
    /// by itself (a duration of 1 s, an address that cannot be listened on).
    struct NumericOption: Sendable, CustomStringConvertible {
        let arguments: @Sendable (String, String) -> [String]
        let name: String
        var description: String { name }
    }

    static func options(database: String, knowledgeBase: String) -> [NumericOption] {
        let score = ["score", "--knowledge-base", knowledgeBase, "--profile", "inference"]
        // Accepted values end at the missing workflow file, after every option was checked.
        let workflow = [
            "--workflow", "/nonexistent-workflow.yaml", "--output", "/tmp/never.csv", "--database", database,
        ]
        let run = ["workflow", "run"] + workflow + ["--scheduler", "energy"]
        let sweep = ["workflow", "sweep"] + workflow
        return [
            NumericOption(arguments: { v, _ in run + ["--weight", v] }, name: "workflow run --weight"),
            NumericOption(
                arguments: { v, _ in run + ["--weight", "0.5", "--repeat", v] }, name: "workflow run --repeat"),
            NumericOption(
                arguments: { v, _ in run + ["--weight", "0.5", "--phase-timeout", "\(v)s"] },
                name: "workflow run --phase-timeout"),
            NumericOption(
                arguments: { v, _ in run + ["--weight", "0.5", "--settle", "\(v)ms"] }, name: "workflow run --settle"),
            NumericOption(
                arguments: { v, _ in run + ["--weight", "0.5", "--interval", "\(v)s"] }, name: "workflow run --interval"
            ),
            NumericOption(arguments: { v, _ in sweep + ["--weights", "0,\(v)"] }, name: "workflow sweep --weights"),
            NumericOption(arguments: { v, _ in sweep + ["--repeat", v] }, name: "workflow sweep --repeat"),
            NumericOption(
                arguments: { v, _ in ["energy", "--database", database, "--from", v] }, name: "energy --from"),
            NumericOption(arguments: { v, _ in ["energy", "--database", database, "--to", v] }, name: "energy --to"),
            NumericOption(
                arguments: { v, _ in ["energy", "--database", database, "--from", "now-\(v)s"] },
                name: "energy --from now-Xs"),
            NumericOption(
                arguments: { v, _ in ["energy", "--database", database, "--interval", "\(v)s"] },
                name: "energy --interval"),
            NumericOption(
                arguments: { v, _ in ["pods", "--database", database, "--interval", "\(v)ms"] }, name: "pods --interval"
            ),
            NumericOption(
                arguments: { v, _ in score + ["--weight", v, "--watts", "tvpc=50"] }, name: "score --weight"),
            NumericOption(
                arguments: { v, _ in score + ["--weight", "0.5", "--watts", "tvpc=\(v)"] }, name: "score --watts"),
            NumericOption(
                arguments: { v, _ in score + ["--weight", "0.5", "--watts", "tvpc=50", "--now", v] },
                name: "score --now"),
            NumericOption(
                arguments: { v, _ in
                    ["extender", "--knowledge-base", knowledgeBase, "--listen", "no-port", "--reload-interval", v]
                }, name: "extender --reload-interval"),
            NumericOption(
                arguments: { v, _ in ["extender", "--knowledge-base", knowledgeBase, "--listen", "127.0.0.1:\(v)"] },
                name: "extender --listen port"),
            NumericOption(
                arguments: { v, p in ["simulate", "--plugs", v, "--port", p, "--duration", "1"] },
                name: "simulate --plugs"),
            NumericOption(
                arguments: { v, _ in ["simulate", "--plugs", "1", "--port", v, "--duration", "1"] },
                name: "simulate --port"),
            NumericOption(
                arguments: { v, p in ["simulate", "--plugs", "1", "--port", p, "--slow-delay-ms", v, "--duration", "1"]
                }, name: "simulate --slow-delay-ms"),
            NumericOption(
                arguments: { v, p in ["simulate", "--plugs", "1", "--port", p, "--duration", v] },
                name: "simulate --duration"),
            NumericOption(
                arguments: { v, _ in ["run", "--config", "/nonexistent.yaml", "--duration", v] }, name: "run --duration"
            ),
            NumericOption(
                arguments: { v, _ in ["demo", "--listen", "127.0.0.1:1", "--duration", v] }, name: "demo --duration"),
            NumericOption(
                arguments: { v, _ in ["healthcheck", "--url", "http://127.0.0.1:1/healthz", "--timeout", v] },
                name: "healthcheck --timeout"),
            NumericOption(arguments: { v, _ in ["bench", "--nodes", v] }, name: "bench --nodes"),
            NumericOption(arguments: { v, _ in ["bench", "--ticks", v] }, name: "bench --ticks"),
            NumericOption(arguments: { v, _ in ["bench", "--plugs", v] }, name: "bench --plugs"),
            NumericOption(arguments: { v, _ in ["bench", "--seconds", v] }, name: "bench --seconds"),
            NumericOption(arguments: { v, _ in ["bench", "--load-plugs", v] }, name: "bench --load-plugs"),
            NumericOption(arguments: { v, _ in ["bench", "--load-seconds", v] }, name: "bench --load-seconds"),
            NumericOption(arguments: { v, _ in ["bench", "--load-connections", v] }, name: "bench --load-connections"),
            NumericOption(arguments: { v, _ in ["bench", "--soak", v] }, name: "bench --soak"),
            NumericOption(arguments: { v, _ in ["bench", "--soak-plugs", v] }, name: "bench --soak-plugs"),
        ]
    }

    @Test("every time, duration and number option: one error line and a non-zero exit, or an answer")
    func commandLineOptions() async throws {
        try TestPaths.requireBinary()
        let folder = try TemporaryDirectory("extreme-cli")
        let database = folder.path("energy.db")
        try EnergyStore(path: database).close()
        let knowledgeBase = try folder.write(
            "inference:\n  - {nodeName: tvpc-cpu, performanceRate: 22036.82, powerConsumptionWatts: 120.95, idlePowerWatts: 50.06}\n",
            to: "profiles.yaml")
        let port = TestEnvironment.freePorts(1)
        var refused = 0
        for option in Self.options(database: database, knowledgeBase: knowledgeBase) {
            for literal in ExtremeNumbers.literals {
                let arguments = option.arguments(literal, "\(port)")
                let result = try await runBinary(arguments, timeout: .seconds(30))
                let lines = result.stderr.split(separator: "\n")
                #expect(
                    !Self.trapMarkers.contains { result.stderr.contains($0) },
                    "\(option) \(literal.prefix(24)): \(result.stderr.prefix(400))")
                #expect(
                    result.status == 0 || result.status == 1 || result.status == 64,
                    "\(option) \(literal.prefix(24)): exit \(result.status)")
                if result.status != 0 {
                    refused += 1
                    #expect(
                        lines.count == 1 && lines[0].hasPrefix("energy-monitor: error: ")
                            || lines.count == 1 && lines[0].hasPrefix("Error: "),
                        "\(option) \(literal.prefix(24)): \(result.stderr.prefix(600))")
                }
            }
        }
        print("extreme command-line values: \(refused) refused with one line")
    }
}

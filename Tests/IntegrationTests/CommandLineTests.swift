import Exposition
import Foundation
import ShellySimulator
import TestSupport
import Testing

/// Bad input ends with one clear line and a non-zero exit; the demo shows three nodes.
@Suite("Command line")
struct CommandLineTests {
    /// Runs the binary and returns status and the non-empty lines of standard error.
    private func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, errorLines: [String]) {
        let result = try await runProcess(TestPaths.binary, arguments, timeout: .seconds(30))
        return (result.status, result.stdout, result.stderr.split(separator: "\n").map(String.init))
    }

    private func write(_ text: String, _ name: String, in folder: String) throws -> String {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("an unknown option is one line and exit status 64")
    func unknownOption() async throws {
        let result = try await run(["run", "--config", "x.yaml", "--frobnicate"])
        #expect(result.status == 64)
        #expect(result.errorLines.count == 1)
        #expect(result.errorLines.first?.contains("Unknown option '--frobnicate'") == true, "\(result.errorLines)")
    }

    @Test("an unknown command is one line")
    func unknownCommand() async throws {
        let result = try await run(["fly"])
        #expect(result.status != 0)
        #expect(result.errorLines.count == 1, "\(result.errorLines)")
    }

    @Test(
        "a bad config is one line naming the key path",
        arguments: [
            ("plugs:\n  - node: tvpc\n    adress: 10.0.0.1\n", "plugs[0].adress: unknown key"),
            ("plugs:\n  - node: tvpc\n", "plugs[0].address: missing"),
            ("interval: fast\nplugs:\n  - {node: a, address: 127.0.0.1}\n", "interval: not a duration: \"fast\""),
            (
                "plugs:\n  - {node: a, address: 127.0.0.1}\n  - {node: a, address: 127.0.0.2}\n",
                "plugs[1].node: duplicate node \"a\""
            ),
            (
                "plugs:\n  - {node: Tvpc_1, address: 127.0.0.1}\n",
                "plugs[0].node: \"Tvpc_1\" is not a valid Kubernetes node name"
            ),
            ("plugs: [\n", "not valid YAML"),
            ("listen: 0.0.0.0:99999\nplugs:\n  - {node: a, address: 127.0.0.1}\n", "listen: port must be 1...65535"),
            ("plugs: []\n", "plugs: must name at least one plug"),
        ]
    )
    func badConfig(yaml: String, message: String) async throws {
        let folder = try TestEnvironment.makeFolder("bad-config")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = try write(yaml, "config.yaml", in: folder)
        let result = try await run(["run", "--config", path])
        #expect(result.status == 1)
        #expect(result.errorLines.count == 1, "\(result.errorLines)")
        #expect(result.errorLines.first?.contains(message) == true, "\(result.errorLines)")
        #expect(result.errorLines.first?.hasPrefix("energy-monitor: error: \(path): ") == true, "\(result.errorLines)")
    }

    @Test("an unreadable password file is one line, and the password never shows")
    func unreadablePassword() async throws {
        let folder = try TestEnvironment.makeFolder("bad-secret")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = try write(
            "plugs:\n  - {node: a, address: 127.0.0.1, passwordFile: /nonexistent/pw}\n", "missing.yaml", in: folder)
        let result = try await run(["run", "--config", missing])
        #expect(result.status == 1)
        #expect(
            result.errorLines == [
                "energy-monitor: error: \(missing): plugs[0].passwordFile: cannot read /nonexistent/pw: no such file"
            ])

        let secretFile = try write("hunter2\n", "pw", in: folder)
        chmod(secretFile, 0)
        let config = try write(
            "plugs:\n  - {node: a, address: 127.0.0.1, passwordFile: pw}\n", "unreadable.yaml", in: folder)
        let unreadable = try await run(["run", "--config", config])
        if getuid() != 0 {  // root reads any file
            #expect(unreadable.status == 1)
            #expect(unreadable.errorLines.count == 1)
            #expect(unreadable.errorLines.first?.contains("plugs[0].passwordFile: cannot read") == true)
        }
        #expect(!(unreadable.errorLines.joined().contains("hunter2")))
    }

    @Test("a missing config file is one line")
    func missingConfig() async throws {
        let result = try await run(["run", "--config", "/nonexistent/config.yaml"])
        #expect(result.status == 1)
        #expect(result.errorLines == ["energy-monitor: error: /nonexistent/config.yaml: cannot read: no such file"])
    }

    @Test("--help and --version succeed")
    func help() async throws {
        let help = try await run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("run") && help.stdout.contains("demo") && help.stdout.contains("simulate"))
        let version = try await run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test("simulate --help names every fault the simulator has")
    func simulateFaults() async throws {
        let help = try await run(["simulate", "--help"])
        #expect(help.status == 0)
        // ArgumentParser wraps the discussion: compare without line breaks and indentation.
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for fault in SimulatedFault.allCases {
            #expect(text.contains(" \(fault.rawValue),") || text.contains(" \(fault.rawValue)."), "\(fault.rawValue)")
        }
    }

    @Test("bad simulate arguments are one line")
    func badSimulate() async throws {
        let result = try await run(["simulate", "--plugs", "2", "--port", "20000", "--fault", "5=slow"])
        #expect(result.status != 0)
        #expect(result.errorLines.count == 1)
        #expect(result.errorLines.first?.contains("--fault") == true, "\(result.errorLines)")
    }

    @Test("the demo shows three nodes' power every second, in the terminal and on /metrics")
    func demo() async throws {
        let folder = try TestEnvironment.makeFolder("demo")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = TestEnvironment.freePorts(1)
        let demo = try ChildProcess(
            TestPaths.binary,
            ["demo", "--listen", "127.0.0.1:\(port)", "--duration", "60", "--database", folder + "/demo.db"],
            in: folder, name: "demo"
        )
        defer { demo.end() }
        var metrics = ExpositionReader("")
        let shown = await eventually(within: .seconds(40)) {
            metrics = ExpositionReader(await TestEnvironment.getText("http://127.0.0.1:\(port)/metrics"))
            return ["tvpc", "wyse", "rpi"].allSatisfy { metrics.has("energy_monitor_power_watts{node=\"\($0)\"}") }
        }
        #expect(shown, "metrics: \(metrics.lines.filter { $0.contains("power") })")
        // Realistic magnitudes: the GPU master draws far more than the Pi.
        let tvpc = metrics.value("energy_monitor_power_watts{node=\"tvpc\"}") ?? 0
        let rpi = metrics.value("energy_monitor_power_watts{node=\"rpi\"}") ?? 0
        #expect(tvpc > 40 && tvpc < 200 && rpi > 2 && rpi < 4, "tvpc \(tvpc) W, rpi \(rpi) W")
        // Five more seconds of console lines, then Ctrl-C's signal: a clean exit.
        _ = await eventually(within: .seconds(15)) {
            demo.stdout.split(separator: "\n").filter { $0.contains("tvpc") && $0.contains(" W") }.count >= 6
        }
        #expect(demo.stop() == 0, "demo: \(demo.stderr.suffix(600))")
        let lines = demo.stdout.split(separator: "\n").filter {
            $0.contains("tvpc") && $0.contains(" W") && $0.contains("rpi")
        }
        #expect(lines.count >= 5, "demo printed: \(demo.stdout)")
        #expect(lines.allSatisfy { !$0.contains("down") }, "\(lines)")
    }
}

import Foundation
import TestSupport
import Testing

/// `simulate --write-config` with the values a YAML template gets wrong: a database path with
/// `#` and a space, a password file path with spaces, an IPv6 listen address. The file it writes
/// is read by `run` as exactly those values.
@Suite(
    "Written configuration",
    .enabled(
        if: TestPaths.binaryAvailable,
        "build the tool first (swift build --product energy-monitor): .build/debug/energy-monitor is absent")
)
struct WrittenConfigurationTests {
    @Test("a database path with '#' and a password file path with spaces: run stores into that exact file, with auth")
    func awkwardPaths() async throws {
        let folder = try TestEnvironment.makeFolder("written config #1")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/a #b.db"
        let passwordFile = folder + "/pass word.txt"
        try "hunter 2\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let config = folder + "/config.yaml"
        let port = TestEnvironment.freePorts(2)
        let listen = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "2", "--port", "\(port)", "--generations", "1,2", "--auth", "0,1",
                "--password-file",
                passwordFile, "--write-config", config, "--database", database, "--listen", "127.0.0.1:\(listen)",
            ],
            in: folder, name: "simulate")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.contains("database: \"\(database)\""), "\(text)")
        #expect(text.contains("passwordFile: \"\(passwordFile)\""), "\(text)")
        #expect(!text.contains("hunter"), "the password itself is never written")

        let monitor = try ChildProcess(TestPaths.binary, ["run", "--config", config], in: folder, name: "run")
        defer { monitor.end() }
        let stored = await eventually(within: .seconds(30)) {
            guard FileManager.default.fileExists(atPath: database) else { return false }
            let rows = try? await sqliteRows(database, "SELECT count(DISTINCT node) FROM power")
            return rows?.first?.first == "2"
        }
        #expect(stored, "no samples of both plugs in \(database): \(monitor.stderr.suffix(800))")
        #expect(!FileManager.default.fileExists(atPath: folder + "/a"), "the path was cut at '#'")
        #expect(monitor.stop() == 0)
    }

    @Test("an IPv6 listen address is written in brackets and quoted, and run listens there; unbracketed it is refused")
    func ipv6Listen() async throws {
        let scratch = try TemporaryDirectory()
        let config = scratch.path("config.yaml")
        let port = TestEnvironment.freePorts(1)
        let listen = TestEnvironment.freePorts(1)
        let simulator = try ChildProcess(
            TestPaths.binary,
            [
                "simulate", "--plugs", "1", "--port", "\(port)", "--write-config", config, "--listen",
                "[::1]:\(listen)",
                "--database", scratch.path("energy.db"),
            ],
            in: scratch.path, name: "simulate")
        defer { simulator.end() }
        let written = await eventually(within: .seconds(30)) { simulator.stdout.contains("simulating") }
        try #require(written, "simulator: \(simulator.stderr)")
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.contains("listen: \"[::1]:\(listen)\""), "\(text)")
        // Where the machine has IPv6 loopback, the service answers there.
        let hasIPv6Loopback = ((try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? "")
            .split(separator: "\n").contains { $0.hasPrefix("00000000000000000000000000000001") }
        if hasIPv6Loopback {
            let monitor = try ChildProcess(
                TestPaths.binary, ["run", "--config", config], in: scratch.path, name: "run")
            defer { monitor.stop() }
            let healthy = await eventually(within: .seconds(30)) {
                await TestEnvironment.get("http://[::1]:\(listen)/healthz")?.status == 200
            }
            #expect(healthy, "no answer on [::1]:\(listen): \(monitor.stderr.suffix(800))")
        }

        let refused = try await runBinary(
            ["simulate", "--plugs", "1", "--port", "\(port)", "--write-config", config, "--listen", "::1:9840"],
            timeout: .seconds(30))
        #expect(refused.status != 0)
        #expect(
            refused.stderr.split(separator: "\n").count == 1
                && refused.stderr.contains(
                    "--listen: \"::1:9840\" is an IPv6 address without brackets; write [::1]:9840"),
            "\(refused.stderr)")
    }

    @Test("demo --database with '#' and spaces stores into that exact file; demo --listen [::1]:PORT listens there")
    func demoValues() async throws {
        let folder = try TestEnvironment.makeFolder("demo values #1")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/a #b: c.db"
        let port = TestEnvironment.freePorts(1)
        let demo = try ChildProcess(
            TestPaths.binary, ["demo", "--database", database, "--listen", "[::1]:\(port)", "--duration", "60"],
            in: folder, name: "demo")
        defer { demo.end() }
        let answered = await eventually(within: .seconds(30)) {
            await TestEnvironment.get("http://[::1]:\(port)/readyz")?.status == 200
        }
        #expect(answered, "no answer on [::1]:\(port): \(demo.stderr.suffix(800))")
        let stored = await eventually(within: .seconds(30)) {
            guard FileManager.default.fileExists(atPath: database) else { return false }
            let rows = try? await sqliteRows(database, "SELECT count(DISTINCT node) FROM power")
            return rows?.first?.first == "3"
        }
        #expect(stored, "no samples of the three plugs in \(database): \(demo.stderr.suffix(800))")
        #expect(!FileManager.default.fileExists(atPath: folder + "/a"), "the path was cut at '#'")
        #expect(demo.stop() == 0)
    }
}

import Exposition
import Foundation
import TestSupport
import Testing

/// Pinned plug credentials against the real binary: a password-protected Gen2 plug is pinned
/// in the store; after a restart a stand-in that answers `/shelly` as a Gen1 device asking for
/// Basic auth never receives the password, and the refusal is logged once; `generation:` in the
/// configuration confirms a new family, and `pins --clear` lets a running service detect the
/// plug afresh.
@Suite("Plug pins end to end", .serialized)
struct PinIntegrationTests {
    /// One simulated plug (`sim-0`, Gen2, asking for the password), the service and its files.
    final class Setup: Sendable {
        let folder: String
        let port: Int
        let listen: Int
        let database: String
        let passwordFile: String

        init() throws {
            folder = try TestEnvironment.makeFolder("plug-pins")
            port = TestEnvironment.freePorts(1)
            listen = TestEnvironment.freePorts(1)
            database = folder + "/energy.db"
            passwordFile = folder + "/plug-password"
            try "s3cret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        }

        var base: String { "http://127.0.0.1:\(listen)" }

        /// Writes the service's configuration, with `generation` for the plug when given.
        func configuration(generation: String? = nil) throws -> String {
            let path = folder + "/config-\(generation ?? "auto").yaml"
            var text = """
                database: "\(database)"
                listen: "127.0.0.1:\(listen)"
                plugs:
                  - node: sim-0
                    address: "http://127.0.0.1:\(port)"
                    passwordFile: "\(passwordFile)"
                    transport: http

                """
            if let generation { text += "    generation: \(generation)\n" }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// The simulated plug, with `fault` (e.g. `impostor`).
        func simulator(_ name: String, fault: String? = nil) async throws -> ChildProcess {
            let process = try ChildProcess(
                TestPaths.binary,
                [
                    "simulate", "--plugs", "1", "--port", "\(port)", "--generations", "2", "--auth", "0",
                    "--password-file", passwordFile,
                ] + (fault.map { ["--fault", "0=\($0)"] } ?? []),
                in: folder, name: name)
            let up = await eventually(within: .seconds(30)) { process.stdout.contains("simulating") }
            try #require(up, "simulator: \(process.stderr)")
            return process
        }

        /// The service, once `/metrics` answers.
        func monitor(_ name: String, configuration: String) async throws -> ChildProcess {
            let process = try ChildProcess(
                TestPaths.binary, ["run", "--config", configuration], in: folder, name: name)
            let up = await eventually(within: .seconds(30)) {
                await TestEnvironment.get(self.base + "/metrics")?.status == 200
            }
            try #require(up, "service: \(process.stderr.suffix(1500))")
            return process
        }

        /// `/metrics` now.
        func metrics() async -> ExpositionReader {
            ExpositionReader(await TestEnvironment.getText(base + "/metrics"))
        }

        /// Polls of `sim-0` counted with `reason`.
        func errors(_ reason: String) async -> Double {
            await metrics().value("energy_monitor_poll_errors_total{node=\"sim-0\",reason=\"\(reason)\"}") ?? 0
        }

        /// The output of `pins --database`.
        func pins() async throws -> String {
            let result = try await runBinary(["pins", "--database", database], timeout: .seconds(30))
            #expect(result.status == 0, "pins: \(result.stderr)")
            return result.stdout
        }

        /// The columns of the pin of `sim-0` in `pins` output, or nil.
        func pinRow() async throws -> [String]? {
            try await pins().split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                .first { $0.first == "sim-0" }
        }
    }

    /// Stops the simulator and returns its totals: (authenticated, challenged, basic credentials).
    static func stop(_ simulator: ChildProcess) -> (authenticated: Int, challenged: Int, basic: Int)? {
        simulator.stop()
        guard let line = simulator.stdout.split(separator: "\n").first(where: { $0.hasPrefix("simulator statistics:") })
        else {
            return nil
        }
        func figure(before word: String) -> Int? {
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(where: { $0.hasPrefix(word) }), index > 0 else { return nil }
            return Int(words[index - 1])
        }
        guard let authenticated = figure(before: "authenticated"), let challenged = figure(before: "challenged"),
            let basic = figure(before: "basic")
        else { return nil }
        return (authenticated, challenged, basic)
    }

    @Test(
        "a Gen2 password pinned in the store survives a restart: a Gen1 stand-in never gets Basic credentials; generation: and pins --clear confirm"
    )
    func pinnedAcrossRestarts() async throws {
        let setup = try Setup()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let auto = try setup.configuration()

        // 1. The genuine Gen2 plug: detected and pinned (family, auth scheme, id and MAC).
        var plug = try await setup.simulator("plug")
        var service = try await setup.monitor("run-1", configuration: auto)
        let sampled = await eventually(within: .seconds(30)) {
            await setup.metrics().value("energy_monitor_plug_up{node=\"sim-0\"}") == 1
        }
        #expect(sampled, "plug never up: \(service.stderr.suffix(1500))")
        var row: [String]?
        let pinned = await eventually(within: .seconds(30)) {
            row = try? await setup.pinRow()
            return row != nil
        }
        let listing = try await setup.pins()
        try #require(pinned, "no pin stored: \(listing); log: \(service.stderr.suffix(1500))")
        // NODE METER FAMILY AUTH ID MAC FIRST-SEEN
        let genuine = try #require(row)
        #expect(
            genuine.count == 7 && genuine[1] == "-" && genuine[2] == "gen2+" && genuine[3] == "digest", "\(genuine)")
        #expect(genuine.count == 7 && genuine[4].hasPrefix("shellyplusplugs-") && genuine[5].count == 12, "\(genuine)")
        #expect(service.stderr.contains("plug pinned"), "\(service.stderr.suffix(1500))")
        service.stop()
        let first = try #require(Self.stop(plug), "simulator totals: \(plug.stdout)")
        #expect(first.authenticated > 0 && first.basic == 0)

        // 2. Restarted against a stand-in that answers `/shelly` as a Gen1 device asking for
        // Basic auth from its first request: no credentials, `auth` counted, logged once.
        plug = try await setup.simulator("impostor", fault: "impostor")
        service = try await setup.monitor("run-2", configuration: auto)
        let refused = await eventually(within: .seconds(30)) { await setup.errors("auth") >= 5 }
        let authErrors = await setup.errors("auth")
        #expect(refused, "auth errors: \(authErrors); log: \(service.stderr.suffix(1500))")
        #expect(try await setup.pinRow() == genuine, "the pin stays as it was")
        service.stop()
        let refusals = service.stderr.split(separator: "\n").filter { $0.contains("plug refused") }
        #expect(refusals.count == 1, "\(refusals)")
        #expect(
            refusals.first.map { $0.contains("node=sim-0") && $0.contains("Gen1") && $0.contains("pins --database") }
                == true, "\(refusals)")
        #expect(!service.stderr.contains("s3cret"))
        let impostor = try #require(Self.stop(plug), "simulator totals: \(plug.stdout)")
        #expect(impostor.basic == 0, "Basic credentials sent to the stand-in: \(impostor.basic)")

        // 3. `generation: 1` in the configuration is the operator's word: the credentials go as
        // Basic auth, and the pin follows the configuration.
        plug = try await setup.simulator("impostor-confirmed", fault: "impostor")
        service = try await setup.monitor("run-3", configuration: try setup.configuration(generation: "1"))
        var updated: [String]?
        let followed = await eventually(within: .seconds(30)) {
            updated = try? await setup.pinRow()
            return updated?.count == 7 && updated?[2] == "gen1"
        }
        #expect(followed, "pin: \(updated ?? []); log: \(service.stderr.suffix(1500))")
        #expect(
            updated?.count == 7 && updated?[3] == "basic" && updated?[4] == "-" && updated?[5] == genuine[5],
            "\(updated ?? [])")
        service.stop()
        #expect(!service.stderr.contains("plug refused"), "\(service.stderr.suffix(1500))")
        let confirmed = try #require(Self.stop(plug), "simulator totals: \(plug.stdout)")
        #expect(confirmed.basic > 0, "no Basic credentials although generation: 1 is set")

        // 4. Back to `auto` with the genuine Gen2 plug: pinned to Gen1 now, so it gets no
        // Digest answer either, until `pins --clear` (with the service running) lets the service
        // detect it afresh.
        plug = try await setup.simulator("plug-refused")
        service = try await setup.monitor("run-4", configuration: auto)
        let refusedAgain = await eventually(within: .seconds(30)) { await setup.errors("auth") >= 3 }
        let authErrorsAgain = await setup.errors("auth")
        #expect(refusedAgain, "auth errors: \(authErrorsAgain); log: \(service.stderr.suffix(1500))")
        let unanswered = try #require(Self.stop(plug), "simulator totals: \(plug.stdout)")
        #expect(unanswered.authenticated == 0 && unanswered.challenged == 0, "\(unanswered)")
        plug = try await setup.simulator("plug-again")
        let cleared = try await runBinary(
            ["pins", "--database", setup.database, "--clear", "sim-0"], timeout: .seconds(30))
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(cleared.stdout.contains("cleared the pin of sim-0: gen1 (basic)"), "\(cleared.stdout)")
        let up = await eventually(within: .seconds(30)) {
            await setup.metrics().value("energy_monitor_plug_up{node=\"sim-0\"}") == 1
        }
        #expect(up, "plug not detected afresh: \(service.stderr.suffix(1500))")
        var again: [String]?
        let back = await eventually(within: .seconds(30)) {
            again = try? await setup.pinRow()
            return again?.count == 7 && again?[2] == "gen2+"
        }
        #expect(back, "pin: \(again ?? [])")
        #expect(again.map { Array($0[0..<6]) } == Array(genuine[0..<6]), "\(again ?? [])")
        service.stop()
        let logLines = service.stderr.split(separator: "\n")
        #expect(logLines.filter { $0.contains("plug refused") }.count == 1)
        #expect(logLines.contains { $0.contains("pin cleared in the store") }, "\(service.stderr.suffix(1500))")
        let last = try #require(Self.stop(plug), "simulator totals: \(plug.stdout)")
        #expect(last.authenticated > 0 && last.basic == 0)
    }
}

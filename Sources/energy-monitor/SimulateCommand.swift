import ArgumentParser
import Foundation
import MonitorService
import ShellyPoller
import ShellySimulator
import UserInput

/// `energy-monitor simulate`: simulated Shelly plugs for tests, benchmarks and trials.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Serve simulated Shelly plugs: plug i is node sim-<i> on HOST:(PORT+i).",
        discussion: """
            Generations cycle through --generations (1 = Gen1 HTTP API, 2/3/4 = RPC API). Plugs named in \
            --auth ask for the password in --password-file (Basic on Gen1, Digest SHA-256 on Gen2+). \
            Faults: \(SimulatedFault.allCases.map(\.rawValue).joined(separator: ", ")). \
            Models cycle through --models: plug, or 3em (a three-phase energy meter with per-minute records).
            """
    )

    @Option(name: .long, help: "Number of plugs.")
    var plugs: Int

    @Option(name: .long, help: "Port of plug 0; plug i listens on PORT+i.")
    var port: Int

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Comma-separated generations, cycled over the plugs (e.g. 1,2,3,4).")
    var generations: String = "1,2,3,4"

    @Option(
        name: .long,
        help: "Comma-separated load profiles, cycled over the plugs: generic, flat (steady), step (square wave).")
    var profiles: String = "generic"

    @Option(
        name: .long, help: "Comma-separated device models, cycled over the plugs: plug, 3em (three-phase energy meter)."
    )
    var models: String = "plug"

    @Option(name: .long, help: "Comma-separated plug indexes that require auth.")
    var auth: String?

    @Option(name: .long, help: "File holding the password of the plugs in --auth.")
    var passwordFile: String?

    @Option(name: .long, parsing: .singleValue, help: "A fault as INDEX=MODE; repeatable.")
    var fault: [String] = []

    @Option(name: .long, help: "How long a slow plug waits before answering, in milliseconds.")
    var slowDelayMs: Int = 3000

    @Option(name: .long, help: "Append node,unix_ms,watts for every served reading to this file.")
    var record: String?

    @Option(name: .long, help: "Write a matching `run` configuration to this file.")
    var writeConfig: String?

    @Option(name: .long, help: "The database path in the written configuration.")
    var database: String = "energy.db"

    @Option(name: .long, help: "The listen address in the written configuration: HOST:PORT, [IPv6]:PORT or :PORT.")
    var listen: String = "127.0.0.1:9840"

    @Option(name: .long, help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(name: .long, help: "Firmware line of the Gen2+ plugs' Digest auth: 1 (lenient) or 2 (RFC 7616 enforced).")
    var firmware: Int = 2

    @Option(name: .long, help: "Lifetime of a firmware-2 Digest nonce, in seconds.")
    var nonceLifetime: Double = 3600

    @Option(
        name: .long, help: "The transport of the Gen2+ plugs in the written configuration: auto, websocket or http.")
    var transport: String?

    func validate() throws {
        guard plugs >= 1, plugs <= 20_000 else { throw ValidationError("--plugs must be between 1 and 20000") }
        guard port >= 1, port <= 65536 - plugs else {
            throw ValidationError("--port: \(plugs) ports from \(port) do not fit in 1...65535")
        }
        guard (0...600_000).contains(slowDelayMs) else {
            throw ValidationError("--slow-delay-ms must be between 0 and 600000")
        }
        if let duration {
            _ = try CommandSupport.seconds(
                duration, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
        }
        guard firmware == 1 || firmware == 2 else { throw ValidationError("--firmware must be 1 or 2") }
        if let transport, !["auto", "websocket", "http"].contains(transport) {
            throw ValidationError("--transport must be auto, websocket or http")
        }
        _ = try CommandSupport.seconds(nonceLifetime, option: "--nonce-lifetime", range: 1...86_400)
        do {
            _ = try ListenAddress(listen)
        } catch {
            throw ValidationError("--listen: \(error.description)")
        }
    }

    func run() async throws {
        let plan = try makePlan()
        // Every plug is a listening socket plus one per open connection.
        ResourceLimits.raiseOpenFileLimit()
        let simulator = try await ShellySimulator.start(
            plugs: plan.specifications,
            configuration: .init(
                host: host, slowDelay: .milliseconds(slowDelayMs), recordPath: record, firmware: firmware,
                nonceLifetime: nonceLifetime),
            threads: plugs > 200 ? 2 : 1
        )
        if let writeConfig {
            try writeConfiguration(writeConfig, plan: plan)
        }
        Console.write("simulating \(plugs) plugs on \(host):\(port)...\(port + plugs - 1) (Ctrl-C to stop)")
        await Termination.wait(
            for: try duration.map {
                try CommandSupport.seconds($0, option: "--duration", range: 0.001...CommandSupport.maxDurationSeconds)
            }
        )
        await simulator.shutdown()
        Console.write(Self.statisticsLine(simulator.statistics().values.reduce(SimulatedPlug.Statistics(), +)))
    }

    /// `simulator statistics: 1234 requests, 1200 allowed, 34 challenged (0 stale), 0 throttled, 0 basic credentials`
    static func statisticsLine(_ total: SimulatedPlug.Statistics) -> String {
        "simulator statistics: \(total.requests) requests, \(total.allowed) authenticated, \(total.challenged) challenged "
            + "(\(total.stale) stale), \(total.throttled) throttled, \(total.basicCredentialsReceived) basic credentials"
    }

    struct Plan {
        var specifications: [SimulatedPlug.Specification]
        var passwordFile: String?
    }

    func makePlan() throws -> Plan {
        let cycle = try generations.split(separator: ",").map { text -> Int in
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (1...4).contains(value) else {
                throw ValidationError("--generations: \"\(text)\" is not 1, 2, 3 or 4")
            }
            return value
        }
        guard !cycle.isEmpty else { throw ValidationError("--generations is empty") }
        let shapes = profiles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for shape in shapes where LoadProfile.named(shape, index: 0) == nil {
            throw ValidationError(
                "--profiles: unknown profile \"\(shape)\" (known: \(LoadProfile.shapeNames.joined(separator: ", ")))")
        }
        guard !shapes.isEmpty else { throw ValidationError("--profiles is empty") }
        let kinds = try models.split(separator: ",").map { text -> SimulatedModel in
            let name = text.trimmingCharacters(in: .whitespaces)
            guard let model = SimulatedModel(rawValue: name) else {
                let known = SimulatedModel.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--models: unknown model \"\(name)\" (known: \(known))")
            }
            return model
        }
        guard !kinds.isEmpty else { throw ValidationError("--models is empty") }
        var authIndexes = Set<Int>()
        if let auth {
            for text in auth.split(separator: ",") {
                guard let index = Int(text.trimmingCharacters(in: .whitespaces)), (0..<plugs).contains(index) else {
                    throw ValidationError("--auth: \"\(text)\" is not a plug index below \(plugs)")
                }
                authIndexes.insert(index)
            }
        }
        var password: String?
        if !authIndexes.isEmpty {
            guard let passwordFile else { throw ValidationError("--auth needs --password-file") }
            let text: String
            do {
                text = try UserFile(path: passwordFile, maxBytes: 64 << 10).text()
            } catch {
                throw ValidationError("--password-file: cannot read \(passwordFile): \(error.problem)")
            }
            password = text.trimmingCharacters(in: .newlines)
            guard password?.isEmpty == false else { throw ValidationError("--password-file: \(passwordFile) is empty") }
        }
        var faults: [Int: SimulatedFault] = [:]
        for text in fault {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let index = Int(parts[0]), (0..<plugs).contains(index) else {
                throw ValidationError("--fault: \"\(text)\" is not INDEX=MODE with INDEX below \(plugs)")
            }
            guard let mode = SimulatedFault(rawValue: parts[1]) else {
                let modes = SimulatedFault.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--fault: unknown mode \"\(parts[1])\" (known: \(modes))")
            }
            faults[index] = mode
        }
        let specifications = (0..<plugs).map { index in
            SimulatedPlug.Specification(
                node: "sim-\(index)",
                port: port + index,
                generation: cycle[index % cycle.count],
                profile: LoadProfile.named(shapes[index % shapes.count], index: index) ?? .generic(index: index),
                password: authIndexes.contains(index) ? password : nil,
                fault: faults[index],
                model: kinds[index % kinds.count]
            )
        }
        let absolutePasswordFile = passwordFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        return Plan(specifications: specifications, passwordFile: absolutePasswordFile)
    }

    /// The `run` configuration for the plugs of `plan`, written by the configuration's own
    /// writer: the database path, the listen address and the password file are quoted as
    /// they need to be, and `run --config` reads back exactly these values.
    func writeConfiguration(_ path: String, plan: Plan) throws {
        var configuration = MonitorConfiguration()
        configuration.database = database
        configuration.listen = try ListenAddress(listen)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        configuration.plugs = plan.specifications.map { specification in
            var plug = PlugConfiguration(node: specification.node, baseURL: "http://\(hostPart):\(specification.port)")
            if specification.password != nil, let file = plan.passwordFile { plug.passwordSource = .file(file) }
            if let transport, specification.generation >= 2, let setting = TransportSetting(rawValue: transport) {
                plug.transport = setting
            }
            return plug
        }
        let yaml = configuration.yaml(header: "Written by `energy-monitor simulate`: one plug per simulated node.")
        do {
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure("--write-config: cannot write \(path): \(error.localizedDescription)")
        }
    }
}

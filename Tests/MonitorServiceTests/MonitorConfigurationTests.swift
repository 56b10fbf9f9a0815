import Foundation
import ShellyPoller
import Testing
import UserInput

@testable import MonitorService

@Suite("Configuration")
struct MonitorConfigurationTests {
    @Test("the documented example parses with every key")
    func documentedExample() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "pa55\n".write(toFile: folder + "/plug-password", atomically: true, encoding: .utf8)
        let yaml = """
            interval: 1s
            database: /var/lib/energy-monitor/energy.db
            listen: 0.0.0.0:9840
            retention: { raw: 14d, minute: 400d }
            plugs:
              - node: tvpc
                address: 192.168.188.128
                generation: auto
                channel: 0
                username: admin
                passwordFile: plug-password
              - node: wyse
                address: http://192.168.188.129:8080/
                generation: 2
              - node: rpi
                address: "[fd00::5]:80"
                generation: 1
                channel: 1
            kubernetes:
              annotate: true
              prefix: energy.thesis.io
              heartbeat: 15s
              deadband: 1.0
            """
        let configuration = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: folder)
        #expect(configuration.intervalMilliseconds == 1000)
        #expect(configuration.listen == ListenAddress(host: "0.0.0.0", port: 9840))
        #expect(configuration.retentionRawMilliseconds == 14 * 86_400_000)
        #expect(configuration.retentionMinuteMilliseconds == 400 * 86_400_000)
        #expect(configuration.plugs.map(\.node) == ["tvpc", "wyse", "rpi"])
        #expect(
            configuration.plugs[0]
                == PlugConfiguration(
                    node: "tvpc", baseURL: "http://192.168.188.128", password: "pa55", passwordSource: .file(folder + "/plug-password")))
        #expect(configuration.plugs[1].baseURL == "http://192.168.188.129:8080" && configuration.plugs[1].generation == .rpc)
        #expect(configuration.plugs[2].baseURL == "http://[fd00::5]:80" && configuration.plugs[2].generation == .gen1)
        #expect(configuration.plugs[2].channel == 1)
        #expect(configuration.kubernetes == .init(annotate: true, prefix: "energy.thesis.io", heartbeatMilliseconds: 15_000, deadbandWatts: 1))
    }

    @Test("defaults")
    func defaults() throws {
        let configuration = try MonitorConfiguration.parse(yaml: "plugs: [{node: a, address: 10.0.0.1}]", baseDirectory: "/etc/x")
        #expect(configuration.intervalMilliseconds == 1000)
        #expect(configuration.database == "/var/lib/energy-monitor/energy.db")
        #expect(configuration.listen.port == 9840)
        #expect(configuration.kubernetes.annotate == false)
        #expect(configuration.plugs[0].username == "admin" && configuration.plugs[0].password == nil)
        #expect(configuration.backlogBytes == 64 << 20)
    }

    @Test(
        "the backlog bound is a size with a unit",
        arguments: [
            ("64MiB", 64 << 20), ("512 KiB", 512 << 10), ("1GiB", 1 << 30), ("100MB", 100_000_000), ("4096B", 4096), ("2kib", 2048),
        ]
    )
    func backlog(text: String, bytes: Int) throws {
        let configuration = try MonitorConfiguration.parse(yaml: "backlog: \(text)\nplugs: [{node: a, address: h}]", baseDirectory: "/")
        #expect(configuration.backlogBytes == bytes)
    }

    @Test("relative database paths are relative to the config file")
    func relativeDatabase() throws {
        let configuration = try MonitorConfiguration.parse(yaml: "database: data/e.db\nplugs: [{node: a, address: h}]", baseDirectory: "/etc/em")
        #expect(configuration.database == "/etc/em/data/e.db")
    }

    @Test("passwords can come from the environment")
    func passwordFromEnvironment() throws {
        let yaml = "plugs: [{node: a, address: h, passwordEnv: PLUG_PW}]"
        let configuration = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/", environment: ["PLUG_PW": "x1"])
        #expect(configuration.plugs[0].password == "x1")
        #expect(throws: ConfigurationError("plugs[0].passwordEnv", "environment variable PLUG_PW is not set")) {
            _ = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/", environment: [:])
        }
    }

    @Test(
        "invalid documents name the key path",
        arguments: [
            ("plugs: [{node: a, address: h}]\nintervall: 1s", "intervall"),
            ("plugs: [{node: a, address: h}]\ninterval: 10ms", "interval"),
            ("plugs: [{node: a, address: h}]\ninterval: 5", "interval"),
            ("plugs: [{node: a, address: 'h:0'}]", "plugs[0].address"),
            ("plugs: [{node: a, address: 'ftp://h'}]", "plugs[0].address"),
            ("plugs: [{node: a, address: 'h/x'}]", "plugs[0].address"),
            ("plugs: [{node: a, address: h, generation: 5}]", "plugs[0].generation"),
            ("plugs: [{node: a, address: h, channel: -1}]", "plugs[0].channel"),
            ("plugs: [{node: a, address: h, maxWatts: 0}]", "plugs[0].maxWatts"),
            ("plugs: [{node: a, address: h, maxWatts: lots}]", "plugs[0].maxWatts"),
            ("plugs: [{node: a, address: h, maxWatts: 2e6}]", "plugs[0].maxWatts"),
            ("plugs: [{node: a, meters: [{name: x, address: h, maxWatts: -5}]}]", "plugs[0].meters[0].maxWatts"),
            ("plugs: [{node: a, address: h}, {node: b, address: h}]", "plugs[1].address"),
            ("plugs: [{node: a, address: h, passwordFile: /nonexistent}]", "plugs[0].passwordFile"),
            ("plugs: [{node: a, address: h, passwordFile: x, passwordEnv: Y}]", "plugs[0].passwordEnv"),
            ("plugs: [{node: a, address: h}]\nretention: {raw: 1d, minute: 1h}", "retention.minute"),
            ("plugs: [{node: a, address: h}]\nretention: {raw: 10s}", "retention.raw"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {annotate: maybe}", "kubernetes.annotate"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {heartbeat: 0s}", "kubernetes.heartbeat"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {deadband: -1}", "kubernetes.deadband"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {prefix: 'Not Valid'}", "kubernetes.prefix"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {podEnergy: sometimes}", "kubernetes.podEnergy"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticPower: sometimes}", "kubernetes.staticPower"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {metricsInterval: 0s}", "kubernetes.metricsInterval"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {metricsInterval: 11m}", "kubernetes.metricsInterval"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {metricsInterval: 15}", "kubernetes.metricsInterval"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWindow: 1m}", "kubernetes.staticWindow"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWatts: {ghost: 5}}", "kubernetes.staticWatts.ghost"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWatts: {a: -5}}", "kubernetes.staticWatts.a"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWatts: {a: .nan}}", "kubernetes.staticWatts.a"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWatts: {a: lots}}", "kubernetes.staticWatts.a"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWatts: {'Not A Node': 5}}", "kubernetes.staticWatts.Not A Node"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {staticWatts: [5]}", "kubernetes.staticWatts"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {nodeCores: {a: -1}}", "kubernetes.nodeCores.a"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {nodeCores: {a: 0}}", "kubernetes.nodeCores.a"),
            ("plugs: [{node: a, address: h}]\nkubernetes: {knowledgeBase: /nonexistent/kb.yaml}", "kubernetes.knowledgeBase"),
            ("plugs: [{node: a, address: h}]\nbacklog: 64", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: 64XB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: MiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: 1.5MiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: -1MiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: 0MiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: 17GiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: 99999999999999999999GiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: 9999999999999GiB", "backlog"),
            ("plugs: [{node: a, address: h}]\nbacklog: {size: 1MiB}", "backlog"),
            ("plugs: {node: a}", "plugs"),
            ("- a\n- b", ""),
        ]
    )
    func invalid(yaml: String, path: String) {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/")
        }
        #expect(error?.keyPath == path, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test("a node with several meters: names, addresses, defaults from the node, one node in the list")
    func meters() throws {
        let yaml = """
            plugs:
              - node: tvpc
                username: root
                meters:
                  - { name: psu-a, address: 10.0.0.1 }
                  - { name: psu-b, address: "10.0.0.2:8080", channel: 1, username: admin, transport: http }
              - { node: rpi, address: 10.0.0.3 }
            """
        let configuration = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/tmp")
        #expect(configuration.plugs.map(\.meter) == ["psu-a", "psu-b", nil])
        #expect(configuration.plugs.map(\.username) == ["root", "admin", "admin"])
        #expect(configuration.plugs[1].channel == 1 && configuration.plugs[1].transport == .http)
        #expect(configuration.nodes == ["tvpc", "rpi"])
    }

    @Test(
        "malformed meters are refused with the key path",
        arguments: [
            ("plugs: [{node: a, meters: []}]", "plugs[0].meters"),
            ("plugs: [{node: a, meters: [{address: 10.0.0.1}]}]", "plugs[0].meters[0].name"),
            ("plugs: [{node: a, meters: [{name: x}]}]", "plugs[0].meters[0].address"),
            ("plugs: [{node: a, meters: [{name: x, address: 10.0.0.1}, {name: x, address: 10.0.0.2}]}]", "plugs[0].meters[1].name"),
            ("plugs: [{node: a, address: 10.0.0.9, meters: [{name: x, address: 10.0.0.1}]}]", "plugs[0].address"),
            ("plugs: [{node: a, meters: [{name: x, address: 10.0.0.1, node: b}]}]", "plugs[0].meters[0].node"),
            ("plugs: [{node: a, meters: [{name: x, address: 10.0.0.1}, {name: y, address: 10.0.0.1}]}]", "plugs[0].meters[1].address"),
            ("plugs: [{node: a, meters: [{name: \"x y\", address: 10.0.0.1}]}]", "plugs[0].meters[0].name"),
            ("plugs: [{node: a, meters: [{name: x, address: 10.0.0.1, transport: carrier-pigeon}]}]", "plugs[0].meters[0].transport"),
        ] as [(String, String)]
    )
    func badMeters(yaml: String, path: String) {
        #expect { try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/tmp") } throws: { error in
            (error as? ConfigurationError)?.keyPath == path
        }
    }
}

/// A configuration built in code (the demo's, the offline cluster's) is held to the rules a
/// file is: `validate()`.
@Suite("Configuration built in code")
struct BuiltConfigurationTests {
    static func plug(_ node: String, _ host: String, meter: String? = nil) -> PlugConfiguration {
        var plug = PlugConfiguration(node: node, baseURL: "http://\(host)")
        plug.meter = meter
        return plug
    }

    @Test("the same node twice, a node name that is none, two entries on one plug: refused with the file's key path")
    func refused() throws {
        var configuration = MonitorConfiguration()
        configuration.plugs = [Self.plug("a", "10.0.0.1"), Self.plug("a", "10.0.0.2")]
        #expect(throws: ConfigurationError("plugs[1].node", "duplicate node \"a\" (also plugs[0])")) {
            try configuration.validate()
        }
        configuration.plugs = [Self.plug("Not A Node", "10.0.0.1")]
        #expect((try? configuration.validate()) == nil)
        configuration.plugs = [Self.plug("a", "10.0.0.1"), Self.plug("b", "10.0.0.1")]
        #expect((try? configuration.validate()) == nil)
        configuration.plugs = []
        #expect((try? configuration.validate()) == nil)
    }

    @Test("a node's meters, named, are one entry")
    func meters() throws {
        var configuration = MonitorConfiguration()
        configuration.plugs = [
            Self.plug("a", "10.0.0.1", meter: "psu-a"), Self.plug("a", "10.0.0.2", meter: "psu-b"),
            Self.plug("b", "10.0.0.3"),
        ]
        try configuration.validate()
        configuration.plugs.append(Self.plug("a", "10.0.0.4", meter: "psu-c"))
        #expect((try? configuration.validate()) == nil, "a node's meters must follow each other")
    }
}

import Foundation
import ShellyPoller
import TestSupport
import Testing
import UserInput

@testable import MonitorService

@Suite("Configuration writer")
struct MonitorConfigurationWriterTests {
    /// A configuration with every field away from its default and awkward strings.
    static func awkward(in folder: String) throws -> MonitorConfiguration {
        let passwordFile = folder + "/pass word #1.txt"
        try "s3cret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let kubeconfig = folder + "/kube config: é.yaml"
        try "current-context: x\n".write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        var configuration = MonitorConfiguration()
        configuration.intervalMilliseconds = 1500
        configuration.database = "/tmp/a #b.db"
        configuration.listen = ListenAddress(host: "::1", port: 9840)
        configuration.retentionRawMilliseconds = 2 * 86_400_000
        configuration.retentionMinuteMilliseconds = 90 * 86_400_000 + 90 * 60_000
        configuration.backlogBytes = 12_345
        var psuA = PlugConfiguration(node: "wyse", baseURL: "https://10.0.0.2:8443", generation: .gen1)
        psuA.meter = "psu-a"
        var psuB = PlugConfiguration(
            node: "wyse", baseURL: "http://10.0.0.3", password: "from-env", passwordSource: .environment("PLUG_PW"),
            transport: .websocket)
        psuB.meter = "psu-b"
        configuration.plugs = [
            PlugConfiguration(
                node: "tvpc", baseURL: "http://[fd00::5]:80", generation: .rpc, channel: 2, username: "root: admin",
                password: "s3cret", passwordSource: .file(passwordFile), allowMD5: true, transport: .http),
            psuA, psuB,
            PlugConfiguration(node: "rpi", baseURL: "http://rpi.local:8080", maxWatts: 12.5),
        ]
        configuration.kubernetes = .init(
            annotate: true, prefix: "energy.example.org", heartbeatMilliseconds: 30_000, deadbandWatts: 0.25,
            kubeconfig: kubeconfig, context: "lab # one")
        let knowledgeBase = folder + "/kb #1: é.yaml"
        try """
        sequential:
          - {nodeName: tvpc, performanceRate: 1, powerConsumptionWatts: 40, idlePowerWatts: 21.5}
          - {nodeName: rpi, performanceRate: 0.2, powerConsumptionWatts: 5, idlePowerWatts: 2.75}
        training:
          - {nodeName: tvpc, performanceRate: 1, powerConsumptionWatts: 60, idlePowerWatts: 20.25}
        """.write(toFile: knowledgeBase, atomically: true, encoding: .utf8)
        var pods = MonitorConfiguration.PodEnergySettings()
        pods.enabled = true
        pods.staticPower = .even
        pods.metricsIntervalMilliseconds = 7500
        pods.staticWindowMilliseconds = 2 * 3_600_000 + 30 * 60_000
        pods.staticWatts = ["tvpc": 18.125, "rpi": 0]
        pods.nodeCores = ["tvpc": 8, "rpi": 3.5]
        pods.knowledgeBase = knowledgeBase
        // What the knowledge base gives: each node's lowest idle power.
        pods.startingWatts = ["tvpc": 20.25, "rpi": 2.75]
        configuration.kubernetes.podEnergy = pods
        return configuration
    }

    @Test(
        "parse(write(c)) gives back c: paths with # and spaces, an IPv6 listen address, every plug key, every per-pod energy key"
    )
    func roundTrip() throws {
        let scratch = try TemporaryDirectory()
        let configuration = try Self.awkward(in: scratch.path)
        let yaml = configuration.yaml(header: "written by a test")
        let parsed = try MonitorConfiguration.parse(
            yaml: yaml, baseDirectory: "/elsewhere", environment: ["PLUG_PW": "from-env"])
        #expect(parsed == configuration, "\(yaml)")
        #expect(!yaml.contains("s3cret") && !yaml.contains("from-env"), "passwords are never written")
        #expect(yaml.contains("database: \"/tmp/a #b.db\""))
        #expect(yaml.contains("listen: \"[::1]:9840\""))
        // Written again, the text is the same.
        #expect(parsed.yaml(header: "written by a test") == yaml)
    }

    @Test("defaults are left out and read back as defaults; a relative database stays relative to the file")
    func defaults() throws {
        var configuration = MonitorConfiguration()
        configuration.database = "energy.db"
        configuration.plugs = [PlugConfiguration(node: "sim-0", baseURL: "http://127.0.0.1:8000")]
        let yaml = configuration.yaml()
        for key in [
            "interval", "retention", "backlog", "kubernetes", "generation", "channel", "username", "transport",
            "podEnergy", "staticPower", "metricsInterval", "staticWindow", "staticWatts", "nodeCores", "knowledgeBase",
        ] {
            #expect(!yaml.contains(key), "\(key) at its default is left out, so a user can add it: \(yaml)")
        }
        let parsed = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: "/srv/em")
        var expected = configuration
        expected.database = "/srv/em/energy.db"
        #expect(parsed == expected)
    }

    @Test("loading a written file: every field back, errors name the file")
    func load() throws {
        let scratch = try TemporaryDirectory()
        let configuration = try Self.awkward(in: scratch.path)
        let path = try scratch.write(configuration.yaml(), to: "config #1.yaml")
        #expect(try MonitorConfiguration.load(path: path, environment: ["PLUG_PW": "from-env"]) == configuration)
        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(path: path, environment: [:])
        }
        #expect(
            error?.description == "\(path): plugs[1].meters[1].passwordEnv: environment variable PLUG_PW is not set")
    }
}

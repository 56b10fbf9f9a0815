import Foundation
import Testing

@testable import MonitorService

/// The monitor's Kubernetes manifests agree with the configuration they ship: the embedded
/// `config.yaml` loads, and its paths and port are the ones the Deployment mounts and exposes.
@Suite("Deployment manifests")
struct DeploymentManifestTests {
    static let k8s = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("k8s")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: k8s.appendingPathComponent(name), encoding: .utf8)
    }

    /// The literal block under `key: |` of a manifest, without its indentation.
    static func block(_ key: String, in manifest: String) throws -> String {
        let lines = manifest.components(separatedBy: "\n")
        let start = try #require(
            lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "\(key): |" }, "\(key): | not found")
        let body = lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix("    ") }
        return body.map { String($0.dropFirst(min(4, $0.count))) }.joined(separator: "\n")
    }

    /// `key: value` pairs of the Secret's `stringData`.
    static func secretKeys() throws -> [String: String] {
        let lines = try text("monitor-secret.yaml").components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "stringData:"))
        var keys: [String: String] = [:]
        for line in lines[(start + 1)...] where line.hasPrefix("  ") {
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
            if parts.count == 2 { keys[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return keys
    }

    @Test("the ConfigMap's config.yaml loads; every passwordFile is a key of the mounted Secret")
    func configurationLoads() throws {
        let secretMount = "/etc/energy-monitor/secrets/"
        let yaml = try Self.block("config.yaml", in: try Self.text("monitor-config.yaml"))
        let secrets = try Self.secretKeys()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (key, value) in secrets {
            try value.write(toFile: "\(folder)/\(key)", atomically: true, encoding: .utf8)
        }
        // Load as the pod would, with the Secret's files at a temporary path.
        let configuration = try MonitorConfiguration.parse(
            yaml: yaml.replacingOccurrences(of: secretMount, with: folder + "/"),
            baseDirectory: folder
        )
        #expect(configuration.plugs.map(\.node) == ["tvpc", "wyse", "rpi"])
        for plug in configuration.plugs {
            #expect(
                plug.password == secrets[plug.node],
                "plug \(plug.node) reads its password from the Secret key \(plug.node)")
        }
        #expect(configuration.kubernetes.annotate)
        #expect(configuration.intervalMilliseconds == 1000)

        let deployment = try Self.text("monitor-deployment.yaml")
        let database = URL(fileURLWithPath: configuration.database).deletingLastPathComponent().path
        for line in [
            "mountPath: \(database)", "claimName: energy-monitor-data",
            "mountPath: \(secretMount.dropLast())", "secretName: energy-monitor-plug-passwords",
            "mountPath: /etc/energy-monitor/config", "name: energy-monitor-config",
            "args: [\"run\", \"--config\", \"/etc/energy-monitor/config/config.yaml\"]",
            "containerPort: \(configuration.listen.port)", "serviceAccountName: energy-monitor",
            "runAsNonRoot: true", "readOnlyRootFilesystem: true", "drop: [\"ALL\"]", "path: /healthz", "path: /readyz",
        ] {
            #expect(deployment.contains(line), "monitor-deployment.yaml: \(line)")
        }
        let service = try Self.text("monitor-service.yaml")
        #expect(service.contains("prometheus.io/scrape: \"true\""))
        #expect(service.contains("prometheus.io/port: \"\(configuration.listen.port)\""))
        #expect(try Self.text("monitor-pvc.yaml").contains("name: energy-monitor-data"))
    }

    @Test("the node selector is a setting of kustomization.yaml, not a host name in the Deployment")
    func nodeSelectorIsASetting() throws {
        let deployment = try Self.text("monitor-deployment.yaml")
        let kustomization = try Self.text("kustomization.yaml")
        #expect(!deployment.contains("kubernetes.io/hostname"))
        #expect(!kustomization.contains("kubernetes.io/hostname"))
        #expect(kustomization.contains("path: /spec/template/spec/nodeSelector"))
        for node in ["tvpc", "wyse", "rpi"] {
            #expect(!deployment.contains(node), "monitor-deployment.yaml names node \(node)")
        }
    }
}

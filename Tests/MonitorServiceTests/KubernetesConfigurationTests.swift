import Foundation
import Testing

@testable import MonitorService

@Suite("kubernetes configuration keys")
struct KubernetesConfigurationTests {
    let plugs = "plugs:\n  - {node: wyse, address: 127.0.0.1:8081}\n"

    @Test("kubeconfig is resolved against the config folder and must be readable; context is kept")
    func kubeconfigAndContext() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "current-context: x\n".write(to: directory.appendingPathComponent("kube.yaml"), atomically: true, encoding: .utf8)
        let configuration = try MonitorConfiguration.parse(
            yaml: plugs + "kubernetes: {annotate: true, kubeconfig: kube.yaml, context: lab}", baseDirectory: directory.path)
        #expect(configuration.kubernetes.kubeconfig == directory.appendingPathComponent("kube.yaml").path)
        #expect(configuration.kubernetes.context == "lab")
        #expect(throws: ConfigurationError("kubernetes.kubeconfig", "cannot read \(directory.path)/missing.yaml: no such file")) {
            try MonitorConfiguration.parse(yaml: plugs + "kubernetes: {kubeconfig: missing.yaml}", baseDirectory: directory.path)
        }
    }
}

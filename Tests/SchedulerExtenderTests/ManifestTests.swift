import Foundation
import Scoring
import Testing
import TestSupport

/// The second-scheduler manifests in `k8s/scheduler/`.
@Suite("Scheduler manifests")
struct ManifestTests {
    static let folder = TestPaths.packageRoot.appendingPathComponent("k8s/scheduler")

    static var manifests: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { folder.appendingPathComponent($0).path }
    }

    /// `kubernetes-validate`, if installed (`pip install kubernetes-validate`).
    static let validator = Tools.find("kubernetes-validate")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    @Test(
        "kubernetes-validate --strict accepts every manifest for Kubernetes 1.31",
        .enabled(if: validator != nil, "kubernetes-validate is not installed (pip install kubernetes-validate)")
    )
    func strictValidation() async throws {
        #expect(Self.manifests.count >= 4)
        let result = try await runProcess(
            try #require(Self.validator), ["--strict", "--kubernetes-version", "1.31.0"] + Self.manifests,
            timeout: .seconds(60)
        )
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("ERROR"), "\(result.stdout)")
    }

    @Test("the knowledge-base ConfigMap loads and serves exactly the reference nodes tvpc, wyse and rpi")
    func knowledgeBaseServesReferenceCluster() throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.knowledgeBaseManifest)
        #expect(Set(knowledgeBase.profileNames) == ["training", "inference", "sequential"])
        #expect(knowledgeBase.audit(nodeNames: ["tvpc", "wyse", "rpi"]).isEmpty)
        #expect(try Self.text("knowledge-base.yaml").contains("name: scheduler-knowledge-base"))
    }

    @Test("scheduler, extender sidecar and knowledge-base mount agree on address, verbs and paths")
    func wiringAgrees() throws {
        let config = try Self.text("scheduler-config.yaml")
        for line in [
            "schedulerName: my-energy-scheduler", "urlPrefix: http://127.0.0.1:8888/scheduler",
            "prioritizeVerb: prioritize", "filterVerb: filter", "nodeCacheCapable: true", "ignorable: true",
        ] {
            #expect(config.contains(line), "scheduler-config.yaml: \(line)")
        }
        let deployment = try Self.text("deployment.yaml")
        for line in [
            "- 127.0.0.1:8888", "- /etc/energy-monitor/kb/profiles.yaml", "mountPath: /etc/energy-monitor/kb",
            "name: scheduler-knowledge-base", "name: my-energy-scheduler-config", "runAsNonRoot: true",
            "readOnlyRootFilesystem: true", "drop: [\"ALL\"]", "- --watch-nodes",
        ] {
            #expect(deployment.contains(line), "deployment.yaml: \(line)")
        }
        // Both containers are locked down and limited.
        #expect(deployment.components(separatedBy: "readOnlyRootFilesystem: true").count == 3)
        #expect(deployment.components(separatedBy: "limits:").count == 3)
        let rbac = try Self.text("rbac.yaml")
        #expect(rbac.contains("name: system:kube-scheduler"))
        #expect(rbac.contains("name: system:volume-scheduler"))
        // The extender's node view: exactly nodes get, list, watch, bound to the pod's account.
        let permissions = try rolePermissions(Self.folder.appendingPathComponent("rbac.yaml").path)
        #expect(permissions == ["nodes": ["get", "list", "watch"]])
        #expect(rbac.contains("name: my-energy-scheduler-extender"))
    }

    @Test(
        "the kube-scheduler's version comes from kustomization.yaml's images: alone",
        .enabled(if: Tools.find("kubectl") != nil, "kubectl is not installed (optional: the build of k8s/ as a whole)"))
    func schedulerVersionFromKustomization() async throws {
        let deployment = try Self.text("deployment.yaml")
        let image = try #require(deployment.split(separator: "\n").first { $0.contains("image: registry.k8s.io/kube-scheduler") })
        #expect(!image.contains(":v1."), "deployment.yaml names a version of its own: \(image)")
        let kustomization = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("k8s/kustomization.yaml"), encoding: .utf8)
        let tag = try #require(
            kustomization.firstMatch(of: /name: registry.k8s.io\/kube-scheduler\n\s+newTag: (v\d+\.\d+\.\d+)/)?.output.1)
        let built = try await runProcess(
            try #require(Tools.find("kubectl")), ["kustomize", TestPaths.packageRoot.appendingPathComponent("k8s").path])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stdout.contains("image: registry.k8s.io/kube-scheduler:\(tag)"))
    }
}

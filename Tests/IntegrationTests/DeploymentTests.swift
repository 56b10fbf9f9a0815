import Foundation
import TestSupport
import Testing

/// The deployment files pass the tools their users will run: `kubernetes-validate --strict`
/// on every Kubernetes manifest, `promtool` on the rules, `hadolint` on the Dockerfile.
@Suite("Deployment files")
struct DeploymentTests {
    static let k8s = TestPaths.packageRoot.appendingPathComponent("k8s")
    static let monitoring = TestPaths.packageRoot.appendingPathComponent("monitoring")
    static let setupHint = "run bash scripts/setup.sh"

    /// Every file under `k8s/` but the kustomization: all of them are Kubernetes manifests (the
    /// Prometheus rules and workflow files, which are not, live in `monitoring/` and
    /// `workflows/`), so `kubectl apply -f` takes any folder of it.
    static func manifests() throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: k8s.path))
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: k8s.appendingPathComponent(relative).path, isDirectory: &isDirectory)
            // Kustomizations (the base's and the components') are no Kubernetes objects.
            guard !isDirectory.boolValue, !relative.hasSuffix("kustomization.yaml") else { continue }
            paths.append(relative)
        }
        return paths.sorted()
    }

    static func run(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(120)) async throws -> (
        status: Int32, output: String
    ) {
        let result = try await runProcess(tool, arguments, timeout: timeout)
        return (result.status, result.stdout + result.stderr)
    }

    @Test("kubernetes-validate --strict accepts every manifest in k8s/ (Kubernetes 1.31)")
    func manifestsValidate() async throws {
        let validator = try #require(
            Tools.find("kubernetes-validate"), "kubernetes-validate not found: \(Self.setupHint)")
        let manifests = try Self.manifests()
        for expected in [
            "namespace.yaml", "monitor-rbac.yaml", "monitor-config.yaml", "monitor-secret.yaml", "monitor-pvc.yaml",
            "monitor-deployment.yaml", "monitor-service.yaml", "scheduler/deployment.yaml", "monitor-node-guard.yaml",
            "scheduler/extender-service.yaml",
        ] {
            #expect(manifests.contains(expected), "k8s/\(expected) missing")
        }
        let result = try await Self.run(
            validator,
            ["--strict", "--kubernetes-version", "1.31.0"] + manifests.map { Self.k8s.appendingPathComponent($0).path }
        )
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("ERROR"), "\(result.output)")
        var withoutSchema: [String] = []
        for manifest in manifests {
            #expect(manifest.hasSuffix(".yaml"), "k8s/\(manifest) is not a manifest")
            // The Prometheus Operator's kinds are custom resources: kubernetes-validate has no
            // schema for them and says so instead of passing them. PrometheusOperatorTests
            // checks their structure.
            let text = try String(contentsOf: Self.k8s.appendingPathComponent(manifest), encoding: .utf8)
            if text.contains("\napiVersion: monitoring.coreos.com/v1\n") {
                let kind = try #require(text.firstMatch(of: /\nkind: (\w+)\n/)?.output.1, "k8s/\(manifest): no kind")
                #expect(
                    result.output.contains("\(manifest) Couldn't find schema for kind \(kind)"),
                    "no schema line for \(manifest): \(result.output)")
                withoutSchema.append(manifest)
                continue
            }
            #expect(result.output.contains("\(manifest) passed"), "no pass line for \(manifest): \(result.output)")
        }
        // Nothing else goes unvalidated.
        #expect(
            withoutSchema == [
                "components/prometheus-operator/extender-servicemonitor.yaml",
                "components/prometheus-operator/monitor-servicemonitor.yaml",
                "components/prometheus-operator/prometheus-rule.yaml",
            ])
    }

    /// The entries of a kustomization's lists (`- name`), in order.
    static func listed(in folder: URL) throws -> [String] {
        try String(contentsOf: folder.appendingPathComponent("kustomization.yaml"), encoding: .utf8)
            .components(separatedBy: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("- ") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".json") || $0.hasPrefix("- ../")) }
            .map { String($0.dropFirst(2)) }
    }

    @Test("kustomization.yaml lists every manifest, and every file it names exists; monitoring/ comes as its own")
    func kustomizationIsComplete() throws {
        let listed = try Self.listed(in: Self.k8s)
        for file in listed {
            #expect(
                FileManager.default.fileExists(atPath: Self.k8s.appendingPathComponent(file).path),
                "kustomization.yaml names missing \(file)")
        }
        // The experiment harness's RBAC (k8s/workflow/) goes into the experiment's namespace,
        // applied by whoever runs experiments: not part of the monitor's installation.
        // Components (k8s/components/) are chosen by whoever builds the installation: their own
        // kustomization lists their files.
        for manifest in try Self.manifests()
        where !manifest.hasPrefix("workflow/") && !manifest.hasPrefix("components/") {
            #expect(listed.contains(manifest), "kustomization.yaml does not list \(manifest)")
        }
        #expect(listed.contains("../monitoring"))
        let monitoring = try Self.listed(in: Self.monitoring)
        #expect(monitoring.contains("prometheus-rules.yaml"))
        #expect(monitoring.contains("grafana-dashboard.json"))
    }

    @Test("every link under Sources/ points at a file of the repository that the image build copies")
    func linkedSourcesReachTheImage() throws {
        let root = TestPaths.packageRoot
        let sources = root.appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        let dockerfile = try String(contentsOf: root.appendingPathComponent("Dockerfile.monitor"), encoding: .utf8)
        let copied = dockerfile.components(separatedBy: "\n").filter { $0.hasPrefix("COPY ") }
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
        var links = 0
        while let relative = enumerator.nextObject() as? String {
            let path = sources.appendingPathComponent(relative).path
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { continue }
            links += 1
            let target = URL(
                fileURLWithPath: destination, relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent()
            )
            .standardizedFileURL.path
            #expect(FileManager.default.fileExists(atPath: target), "Sources/\(relative) -> \(destination) is broken")
            let inRepository = target.hasPrefix(root.standardizedFileURL.path + "/")
            #expect(inRepository, "Sources/\(relative) points outside the repository")
            let fromRoot = String(target.dropFirst(root.standardizedFileURL.path.count + 1))
            #expect(
                copied.contains { fromRoot == $0 || fromRoot.hasPrefix($0 + "/") },
                "Dockerfile.monitor does not COPY \(fromRoot), which Sources/\(relative) needs")
        }
        #expect(
            links >= 2, "the built-in workflow and knowledge base are linked from Sources/WorkflowSimulation/Defaults")
        // .dockerignore excludes k8s/ but lets the knowledge base through.
        let ignore = try String(contentsOf: root.appendingPathComponent(".dockerignore"), encoding: .utf8)
        #expect(ignore.contains("!k8s/scheduler/knowledge-base.yaml"))
    }

    @Test(
        "kubectl kustomize builds k8s/ into objects that kubernetes-validate accepts",
        .enabled(if: Tools.find("kubectl") != nil, "kubectl is not installed (optional: the build of k8s/ as a whole)")
    )
    func kustomizeBuilds() async throws {
        let kubectl = try #require(Tools.find("kubectl"))
        let validator = try #require(
            Tools.find("kubernetes-validate"), "kubernetes-validate not found: \(Self.setupHint)")
        let result = try await runProcess(kubectl, ["kustomize", Self.k8s.path])
        #expect(result.status == 0, "\(result.stderr)")
        let folder = try TestEnvironment.makeFolder("kustomize")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try result.stdout.write(toFile: folder + "/all.yaml", atomically: true, encoding: .utf8)
        let kinds = result.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("kind: ") }
        #expect(kinds.count >= 22, "\(kinds)")
        #expect(kinds.contains("kind: ValidatingAdmissionPolicy"))
        #expect(result.stdout.contains("name: energy-monitor-prometheus-rules"))
        let check = try await Self.run(validator, ["--strict", "--kubernetes-version", "1.31.0", folder + "/all.yaml"])
        #expect(check.status == 0, "\(check.output)")
    }

    @Test(
        "the sharded component: kubectl kustomize builds k8s/ with it into a StatefulSet of shards that kubernetes-validate accepts",
        .enabled(if: Tools.find("kubectl") != nil, "kubectl is not installed (optional: the build of k8s/ as a whole)")
    )
    func shardedComponentBuilds() async throws {
        let kubectl = try #require(Tools.find("kubectl"))
        let validator = try #require(
            Tools.find("kubernetes-validate"), "kubernetes-validate not found: \(Self.setupHint)")
        let component = Self.k8s.appendingPathComponent("components/sharded")
        let kustomization = try String(
            contentsOf: component.appendingPathComponent("kustomization.yaml"), encoding: .utf8)
        #expect(kustomization.contains("kind: Component"))
        let listed = try Self.listed(in: component)
        let files = try FileManager.default.contentsOfDirectory(atPath: component.path).filter {
            $0 != "kustomization.yaml"
        }
        #expect(
            Set(listed) == Set(files), "components/sharded/kustomization.yaml lists \(listed), the folder has \(files)")
        // A copy of k8s/ (and monitoring/, which it includes) with the component switched on,
        // as a user would add it.
        let folder = try TestEnvironment.makeFolder("kustomize-sharded")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in ["k8s", "monitoring"] {
            try FileManager.default.copyItem(
                atPath: TestPaths.packageRoot.appendingPathComponent(name).path, toPath: folder + "/" + name)
        }
        let base = folder + "/k8s/kustomization.yaml"
        try (try String(contentsOfFile: base, encoding: .utf8) + "\ncomponents:\n  - components/sharded\n")
            .write(toFile: base, atomically: true, encoding: .utf8)
        let result = try await runProcess(kubectl, ["kustomize", folder + "/k8s"])
        #expect(result.status == 0, "\(result.stderr)")
        try result.stdout.write(toFile: folder + "/all.yaml", atomically: true, encoding: .utf8)
        let check = try await Self.run(validator, ["--strict", "--kubernetes-version", "1.31.0", folder + "/all.yaml"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("passed for resource statefulset/energy-monitor"), "\(check.output)")
        // The objects, split: the StatefulSet replaces the monitor's Deployment and its PVC.
        let objects = result.stdout.components(separatedBy: "\n---\n")
        func object(_ kind: String, _ name: String) -> String? {
            objects.first { $0.contains("\nkind: \(kind)\n") && $0.contains("\n  name: \(name)\n") }
        }
        #expect(object("Deployment", "energy-monitor") == nil, "the Deployment is still there")
        #expect(object("PersistentVolumeClaim", "energy-monitor-data") == nil, "the shared PVC is still there")
        #expect(object("Deployment", "my-energy-scheduler") != nil)
        let statefulSet = try #require(object("StatefulSet", "energy-monitor"))
        let headless = try #require(object("Service", "energy-monitor-shards"))
        #expect(headless.contains("clusterIP: None"))
        #expect(object("Service", "energy-monitor") != nil, "the Service of the API and /metrics stays")
        let replicas = try #require(statefulSet.firstMatch(of: /\n  replicas: (\d+)\n/)?.output.1)
        let shards = try #require(
            statefulSet.firstMatch(of: /- --shard-from-hostname\n\s+- "?(\d+)"?\n/)?.output.1)
        #expect(replicas == shards, "replicas \(replicas), --shard-from-hostname \(shards)")
        #expect(statefulSet.contains("serviceName: energy-monitor-shards"))
        #expect(statefulSet.contains("http://energy-monitor-{i}.energy-monitor-shards.energy-monitor.svc:9840"))
        #expect(statefulSet.contains("volumeClaimTemplates:"))
        #expect(!statefulSet.contains("claimName:"), "a shard's volume is its own")
    }

    @Test("promtool check rules accepts the rules, and promtool test rules passes their unit tests")
    func prometheusRules() async throws {
        let promtool = try #require(Tools.find("promtool"), "promtool not found: \(Self.setupHint)")
        let folder = Self.monitoring
        let check = try await Self.run(
            promtool, ["check", "rules", folder.appendingPathComponent("prometheus-rules.yaml").path])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("SUCCESS: 9 rules found"), "\(check.output)")
        let test = try await Self.run(
            promtool, ["test", "rules", folder.appendingPathComponent("prometheus-rules.test.yaml").path])
        #expect(test.status == 0, "\(test.output)")
        let rules = try String(contentsOf: folder.appendingPathComponent("prometheus-rules.yaml"), encoding: .utf8)
        for alert in ["EnergyMonitorPlugDown", "EnergyMonitorSamplesStale", "EnergyMonitorAnnotationWritesFailing"] {
            #expect(rules.contains("alert: \(alert)"))
        }
    }

    @Test("hadolint finds no error in Dockerfile.monitor")
    func dockerfileLints() async throws {
        let hadolint = try #require(Tools.find("hadolint"), "hadolint not found: \(Self.setupHint)")
        let dockerfile = TestPaths.packageRoot.appendingPathComponent("Dockerfile.monitor").path
        let result = try await Self.run(hadolint, ["--no-color", "--failure-threshold", "error", dockerfile])
        #expect(result.status == 0, "\(result.output)")
        let text = try String(contentsOfFile: dockerfile, encoding: .utf8)
        for line in [
            "AS build", "--static-swift-stdlib", "USER 65532", "HEALTHCHECK", "org.opencontainers.image.version",
            "libcurl4 libsqlite3-0",
        ] {
            #expect(text.contains(line), "Dockerfile.monitor: \(line)")
        }
    }

    @Test("the Grafana dashboard is JSON with panels on the exported metrics")
    func grafanaDashboard() throws {
        let data = try Data(contentsOf: Self.monitoring.appendingPathComponent("grafana-dashboard.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(object["panels"] as? [[String: Any]])
        #expect(panels.count >= 6)
        let text = String(decoding: data, as: UTF8.self)
        for metric in ["energy_monitor_power_watts", "energy_monitor_energy_joules_total", "energy_monitor_plug_up"] {
            #expect(text.contains(metric))
        }
    }
}

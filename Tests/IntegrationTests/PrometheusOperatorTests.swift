import Foundation
import TestSupport
import Testing
import UserInput

/// The Prometheus Operator component, `k8s/components/prometheus-operator`: its PrometheusRule
/// holds exactly the groups of `monitoring/prometheus-rules.yaml`, which `promtool` accepts and
/// whose unit tests pass on them; each of its ServiceMonitors selects exactly one Service, on a
/// port that Service names and that reaches a port its pods declare.
///
/// `kubernetes-validate` has no schema for the Operator's kinds (it warns and passes them), so
/// their structure is checked here, on the files and on what `kubectl kustomize` builds of them.
@Suite("Prometheus Operator component")
struct PrometheusOperatorTests {
    static let root = TestPaths.packageRoot
    static let k8s = root.appendingPathComponent("k8s")
    static let component = k8s.appendingPathComponent("components/prometheus-operator")
    static let rules = root.appendingPathComponent("monitoring/prometheus-rules.yaml")
    static let ruleTests = root.appendingPathComponent("monitoring/prometheus-rules.test.yaml")
    static let setupHint = "run bash scripts/setup.sh"
    /// The API version of every object of the component.
    static let operatorAPIVersion = "monitoring.coreos.com/v1"
    /// The label kube-prometheus-stack's selectors ask for, as shipped.
    static let releaseLabel = "kube-prometheus-stack"

    // MARK: - Reading manifests

    /// The objects of a manifest text: its documents, split at `---` lines, empty ones left out.
    static func objects(in text: String) throws -> [YAMLValue] {
        var documents: [[String]] = [[]]
        for line in text.components(separatedBy: "\n") {
            if line == "---" {
                documents.append([])
            } else {
                documents[documents.count - 1].append(line)
            }
        }
        var objects: [YAMLValue] = []
        for document in documents {
            if let object = try YAMLDocument.parse(document.joined(separator: "\n")) { objects.append(object) }
        }
        return objects
    }

    /// Every object of every manifest under `k8s/` (components included): all the Services and
    /// workloads any installation built from it can have.
    static func repositoryObjects() throws -> [YAMLValue] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: k8s.path))
        var objects: [YAMLValue] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".yaml"), !relative.hasSuffix("kustomization.yaml") else { continue }
            let text = try String(contentsOf: k8s.appendingPathComponent(relative), encoding: .utf8)
            objects += try Self.objects(in: text)
        }
        return objects
    }

    /// The text of the scalar at `keys` under `value`, nil when absent or not a scalar.
    static func text(_ value: YAMLValue?, _ keys: String...) -> String? {
        var current = value
        for key in keys { current = current?.member(key) }
        return current?.scalar?.text
    }

    /// The mapping at `keys` under `value` as strings (labels, selectors); empty when absent.
    static func strings(_ value: YAMLValue?, _ keys: String...) throws -> [String: String] {
        var current = value
        for key in keys { current = current?.member(key) }
        guard let current else { return [:] }
        var result: [String: String] = [:]
        for (key, item) in try current.entries() { result[key] = try item.rawString() }
        return result
    }

    /// The items of the list at `keys` under `value`; empty when absent.
    static func items(_ value: YAMLValue?, _ keys: String...) throws -> [YAMLValue] {
        var current = value
        for key in keys { current = current?.member(key) }
        return try current?.list() ?? []
    }

    static func kind(_ object: YAMLValue) -> String { text(object, "kind") ?? "" }
    static func name(_ object: YAMLValue) -> String { text(object, "metadata", "name") ?? "" }
    static func namespace(_ object: YAMLValue) -> String { text(object, "metadata", "namespace") ?? "" }

    // MARK: - Comparing and writing YAML trees

    /// Where two YAML trees first differ (`groups[1].rules[0].for: "1m" here, "2m" there`), nil
    /// when they hold the same: scalars by the value YAML reads them as (a folded block equals
    /// the quoted string it reads as, as kustomize rewrites it), mappings key by key in any
    /// order, lists item by item.
    static func difference(_ here: YAMLValue, _ there: YAMLValue, at path: String = "") throws -> String? {
        let place = path.isEmpty ? "the document" : path
        switch (here.node.content, there.node.content) {
        case (.scalar(let left), .scalar(let right)):
            return left.typed == right.typed ? nil : "\(place): \"\(left.text)\" here, \"\(right.text)\" there"
        case (.sequence, .sequence):
            let left = try here.list()
            let right = try there.list()
            guard left.count == right.count else { return "\(place): \(left.count) items here, \(right.count) there" }
            for index in left.indices {
                if let found = try difference(left[index], right[index], at: "\(path)[\(index)]") { return found }
            }
            return nil
        case (.mapping, .mapping):
            let left = try here.entries()
            let right = try there.entries()
            let rightKeys = Set(right.map(\.key))
            for (key, value) in left {
                let inner = path.isEmpty ? key : "\(path).\(key)"
                guard let other = there.member(key) else { return "\(inner): here only" }
                if let found = try difference(value, other, at: inner) { return found }
            }
            if let extra = rightKeys.subtracting(left.map(\.key)).sorted().first {
                return "\(path.isEmpty ? extra : "\(path).\(extra)"): there only"
            }
            return nil
        default:
            return "\(place): \(here.kindDescription) here, \(there.kindDescription) there"
        }
    }

    /// The tree as a document to write, every scalar read back as the value it was read as.
    static func output(_ value: YAMLValue) throws -> YAMLOutput {
        switch value.node.content {
        case .scalar(let scalar):
            switch scalar.typed {
            case .string(let text): return .string(text)
            case .null: return .token("null")
            case .bool, .integer, .double: return .token(scalar.text)
            }
        case .sequence:
            var items: [YAMLOutput] = []
            for item in try value.list() { items.append(try output(item)) }
            return .list(items)
        case .mapping:
            var entries: [(key: String, value: YAMLOutput)] = []
            for (key, item) in try value.entries() { entries.append((key, try output(item))) }
            return .mapping(entries)
        }
    }

    /// The one PrometheusRule among `objects`.
    static func prometheusRule(in objects: [YAMLValue]) throws -> YAMLValue {
        let rules = objects.filter { kind($0) == "PrometheusRule" }
        #expect(rules.count == 1, "\(rules.count) PrometheusRules")
        return try #require(rules.first)
    }

    /// The component's PrometheusRule as shipped.
    static func shippedRule() throws -> YAMLValue {
        let text = try String(contentsOf: component.appendingPathComponent("prometheus-rule.yaml"), encoding: .utf8)
        return try prometheusRule(in: try objects(in: text))
    }

    /// The rule file's groups.
    static func ruleFileGroups() throws -> YAMLValue {
        let file = try #require(try YAMLDocument.parse(try String(contentsOf: rules, encoding: .utf8)))
        return try #require(file.member("groups"), "monitoring/prometheus-rules.yaml has no groups")
    }

    /// Checks a PrometheusRule: its metadata, and groups that are the rule file's, exactly.
    static func checkRule(_ rule: YAMLValue, release: String) throws {
        #expect(text(rule, "apiVersion") == operatorAPIVersion)
        #expect(name(rule) == "energy-monitor")
        #expect(namespace(rule) == "energy-monitor")
        #expect(try strings(rule, "metadata", "labels")["release"] == release)
        let groups = try #require(rule.member("spec")?.member("groups"), "the PrometheusRule has no spec.groups")
        for group in try groups.list() {
            #expect(text(group, "name")?.isEmpty == false, "\(group.keyPath): no name")
            #expect(try !items(group, "rules").isEmpty, "\(group.keyPath): no rules")
        }
        let drift = try difference(groups, try ruleFileGroups(), at: "groups")
        #expect(
            drift == nil,
            "the PrometheusRule's spec.groups and monitoring/prometheus-rules.yaml's groups differ: \(drift ?? "")")
    }

    // MARK: - ServiceMonitors

    /// Checks every ServiceMonitor among `objects` against the Services and workloads among
    /// them: each selects exactly one Service (so that no pod is scraped twice, also beside the
    /// shards' headless Service), each endpoint names a port of that Service whose target is a
    /// named port of a container of every workload behind it. Returns the Services selected.
    @discardableResult
    static func checkServiceMonitors(in objects: [YAMLValue], release: String) throws -> [String] {
        let monitors = objects.filter { kind($0) == "ServiceMonitor" }
        var selected: [String] = []
        for monitor in monitors {
            let label = "ServiceMonitor \(namespace(monitor))/\(name(monitor))"
            #expect(text(monitor, "apiVersion") == operatorAPIVersion, "\(label)")
            #expect(!name(monitor).isEmpty && !namespace(monitor).isEmpty, "\(label): name and namespace")
            #expect(try strings(monitor, "metadata", "labels")["release"] == release, "\(label): release label")
            let matchLabels = try strings(monitor, "spec", "selector", "matchLabels")
            #expect(!matchLabels.isEmpty, "\(label): no spec.selector.matchLabels")
            var namespaces = try items(monitor, "spec", "namespaceSelector", "matchNames").map { try $0.rawString() }
            if namespaces.isEmpty { namespaces = [namespace(monitor)] }
            let services = try objects.filter { object in
                guard kind(object) == "Service", namespaces.contains(namespace(object)) else { return false }
                let labels = try strings(object, "metadata", "labels")
                return matchLabels.allSatisfy { labels[$0.key] == $0.value }
            }
            #expect(services.count == 1, "\(label) selects \(services.map { name($0) }), not exactly one Service")
            guard let service = services.first else { continue }
            selected.append("\(namespace(service))/\(name(service))")
            let workloads = try workloads(behind: service, in: objects)
            #expect(!workloads.isEmpty, "\(label): no Deployment or StatefulSet behind Service \(name(service))")
            let endpoints = try items(monitor, "spec", "endpoints")
            #expect(!endpoints.isEmpty, "\(label): no endpoints")
            for endpoint in endpoints {
                let portName = try #require(text(endpoint, "port"), "\(label): an endpoint without port")
                let port = try items(service, "spec", "ports").first { text($0, "name") == portName }
                let servicePort = try #require(port, "\(label): Service \(name(service)) has no port \(portName)")
                #expect(text(endpoint, "path") == "/metrics", "\(label)")
                #expect(text(endpoint, "scheme") == "http", "\(label)")
                let interval = try #require(text(endpoint, "interval"), "\(label): no interval")
                #expect(interval.wholeMatch(of: /[1-9][0-9]*[sm]/) != nil, "\(label): interval \(interval)")
                // The metrics' own labels (a pod's namespace and name, the extender's
                // endpoint) win over the target labels the Operator adds under those names.
                #expect(text(endpoint, "honorLabels") == "true", "\(label): honorLabels")
                let target = try #require(text(servicePort, "targetPort"), "\(label): no targetPort")
                for workload in workloads {
                    let declared = try containers(of: workload).flatMap { try items($0, "ports") }
                        .compactMap { text($0, "name") }
                    #expect(
                        declared.contains(target),
                        "\(label): \(kind(workload)) \(name(workload)) declares no container port \(target)")
                }
            }
        }
        return selected.sorted()
    }

    /// The Deployments and StatefulSets whose pods `service` selects.
    static func workloads(behind service: YAMLValue, in objects: [YAMLValue]) throws -> [YAMLValue] {
        let selector = try strings(service, "spec", "selector")
        guard !selector.isEmpty else { return [] }
        return try objects.filter { object in
            guard ["Deployment", "StatefulSet"].contains(kind(object)), namespace(object) == namespace(service) else {
                return false
            }
            let labels = try strings(object, "spec", "template", "metadata", "labels")
            return selector.allSatisfy { labels[$0.key] == $0.value }
        }
    }

    /// The containers of a workload's pod template.
    static func containers(of workload: YAMLValue) throws -> [YAMLValue] {
        try items(workload, "spec", "template", "spec", "containers")
    }

    // MARK: - Tests

    @Test("the component's kustomization is a Component that lists exactly its files, all of the Operator's kinds")
    func componentFiles() throws {
        let kustomization = try String(
            contentsOf: Self.component.appendingPathComponent("kustomization.yaml"), encoding: .utf8)
        #expect(kustomization.contains("kind: Component"))
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.component.path)
            .filter { $0 != "kustomization.yaml" }
        let listed = try DeploymentTests.listed(in: Self.component)
        #expect(Set(listed) == Set(files), "the kustomization lists \(listed), the folder has \(files)")
        var kinds: [String] = []
        for file in files {
            let objects = try Self.objects(
                in: try String(contentsOf: Self.component.appendingPathComponent(file), encoding: .utf8))
            for object in objects {
                #expect(Self.text(object, "apiVersion") == Self.operatorAPIVersion, "\(file)")
                kinds.append(Self.kind(object))
            }
        }
        #expect(kinds.sorted() == ["PrometheusRule", "ServiceMonitor", "ServiceMonitor"])
    }

    @Test("the PrometheusRule's spec.groups are exactly the groups of monitoring/prometheus-rules.yaml")
    func ruleGroupsMatchTheRuleFile() throws {
        try Self.checkRule(try Self.shippedRule(), release: Self.releaseLabel)
    }

    @Test("the comparison of rule groups finds a changed duration, a reordered key is no change")
    func ruleDriftIsFound() throws {
        let text = try String(contentsOf: Self.rules, encoding: .utf8)
        let groups = try Self.ruleFileGroups()
        // The first `for: 1m` (EnergyMonitorPlugDown's) made 2m.
        let changed = try #require(
            try YAMLDocument.parse(text.replacing("for: 1m", with: "for: 2m", maxReplacements: 1)))
        let drift = try Self.difference(try #require(changed.member("groups")), groups, at: "groups")
        #expect(drift == #"groups[1].rules[0].for: "2m" here, "1m" there"#)
        // A key moved within its mapping, and a plain scalar quoted, read as the same.
        let moved = try #require(
            try YAMLDocument.parse(
                text.replacing(
                    "  - name: energy-monitor.recording\n    interval: 30s\n",
                    with: "  - interval: \"30s\"\n    name: energy-monitor.recording\n"
                )
                .replacing("  - name: energy-monitor.alerts", with: "  - name: \"energy-monitor.alerts\"")))
        #expect(try Self.difference(try #require(moved.member("groups")), groups, at: "groups") == nil)
    }

    @Test("promtool check rules accepts the PrometheusRule's groups, and the rules' unit tests pass on them")
    func ruleGroupsPassPromtool() async throws {
        let promtool = try #require(Tools.find("promtool"), "promtool not found: \(Self.setupHint)")
        let groups = try #require(try Self.shippedRule().member("spec")?.member("groups"))
        // The groups as a rule file of their own, where the unit tests look for it.
        let folder = try TemporaryDirectory("prometheus-rule")
        let extracted = YAMLOutput.mapping([("groups", try Self.output(groups))])
            .text(header: "spec.groups of k8s/components/prometheus-operator/prometheus-rule.yaml")
        let ruleFile = try folder.write(extracted, to: "prometheus-rules.yaml")
        let testFile = try folder.write(try String(contentsOf: Self.ruleTests, encoding: .utf8), to: "rules.test.yaml")
        // What was written reads back as the groups it was made of.
        let written = try #require(try YAMLDocument.parse(try String(contentsOfFile: ruleFile, encoding: .utf8)))
        #expect(try Self.difference(try #require(written.member("groups")), groups) == nil)

        let check = try await runProcess(promtool, ["check", "rules", ruleFile], timeout: .seconds(120))
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 9 rules found"), "\(check.stdout)")
        let test = try await runProcess(promtool, ["test", "rules", testFile], timeout: .seconds(120))
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("SUCCESS"), "\(test.stdout)")
    }

    @Test("each ServiceMonitor selects one Service, the monitor's or the extender's, on a port its pods declare")
    func serviceMonitorsSelectTheServices() throws {
        let objects = try Self.repositoryObjects()
        // Every Service under k8s/, the shards' headless one too: none may be a second match.
        #expect(objects.contains { Self.kind($0) == "Service" && Self.name($0) == "energy-monitor-shards" })
        let selected = try Self.checkServiceMonitors(in: objects, release: Self.releaseLabel)
        #expect(selected == ["energy-monitor/energy-monitor", "kube-system/my-energy-scheduler-extender"])
    }

    @Test(
        "the extender's metrics listener is the port its Service and ServiceMonitor scrape, away from the scheduler's")
    func extenderMetricsPort() throws {
        let objects = try Self.repositoryObjects()
        let deployment = try #require(
            objects.first { Self.kind($0) == "Deployment" && Self.name($0) == "my-energy-scheduler" })
        let extender = try #require(
            try Self.containers(of: deployment).first { Self.text($0, "name") == "energy-extender" })
        let command = try Self.items(extender, "command").map { try $0.rawString() }
        let flag = try #require(command.firstIndex(of: "--metrics-listen"), "no --metrics-listen: \(command)")
        let listen = try #require(command.indices.contains(flag + 1) ? command[flag + 1] : nil)
        let metricsPort = try ListenAddress(listen).port
        let schedulerPort = try ListenAddress(try #require(command.firstIndex(of: "--listen").map { command[$0 + 1] }))
            .port
        #expect(metricsPort != schedulerPort)
        let port = try #require(try Self.items(extender, "ports").first { Self.text($0, "name") == "metrics" })
        #expect(Self.text(port, "containerPort") == String(metricsPort))
        let service = try #require(
            objects.first { Self.kind($0) == "Service" && Self.name($0) == "my-energy-scheduler-extender" })
        #expect(Self.namespace(service) == Self.namespace(deployment))
        let servicePort = try #require(try Self.items(service, "spec", "ports").first)
        #expect(Self.text(servicePort, "name") == "metrics")
        #expect(Self.text(servicePort, "targetPort") == "metrics")
        // The plain-Prometheus path: the scrape annotations name the same port.
        let annotations = try Self.strings(service, "metadata", "annotations")
        #expect(annotations["prometheus.io/scrape"] == "true")
        #expect(annotations["prometheus.io/port"] == String(metricsPort))
    }

    @Test(
        "kubectl kustomize builds README's overlay: the component alone, and with the shards and README's patch",
        .enabled(if: Tools.find("kubectl") != nil, "kubectl is not installed (optional: the build of k8s/ as a whole)")
    )
    func componentBuilds() async throws {
        let kubectl = try #require(Tools.find("kubectl"))
        let validator = try #require(
            Tools.find("kubernetes-validate"), "kubernetes-validate not found: \(Self.setupHint)")
        // The overlay and the label patch as README's install section writes them.
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let overlayText = try #require(
            readme.firstMatch(of: /cat > energy-monitor-operator\/kustomization.yaml <<'END'\n([\s\S]*?)\nEND\n/)?
                .output.1,
            "README shows no overlay kustomization")
        let patchText = try #require(
            readme.firstMatch(of: /```yaml\n(patches:\n[\s\S]*?)```/)?.output.1, "README shows no label patch")
        let patchedRelease = try #require(patchText.firstMatch(of: /value: (\S+)/)?.output.1)
        #expect(patchedRelease != Self.releaseLabel, "README's patch should show another release name")
        #expect(overlayText.contains("components:\n  - ../k8s/components/prometheus-operator"), "\(overlayText)")
        let folder = try TemporaryDirectory("kustomize-operator")
        for name in ["k8s", "monitoring"] {
            try FileManager.default.copyItem(
                atPath: Self.root.appendingPathComponent(name).path, toPath: folder.path(name))
        }
        let overlays: [(name: String, text: String, release: String, sharded: Bool)] = [
            ("energy-monitor-operator", overlayText + "\n", Self.releaseLabel, false),
            (
                "energy-monitor-operator-sharded", overlayText + "\n  - ../k8s/components/sharded\n" + patchText,
                String(patchedRelease), true
            ),
        ]
        for (overlay, kustomization, release, sharded) in overlays {
            try FileManager.default.createDirectory(atPath: folder.path(overlay), withIntermediateDirectories: true)
            _ = try folder.write(kustomization, to: "\(overlay)/kustomization.yaml")
            let built = try await runProcess(kubectl, ["kustomize", folder.path(overlay)], timeout: .seconds(120))
            #expect(built.status == 0, "\(overlay): \(built.stderr)")
            let rendered = try folder.write(built.stdout, to: "\(overlay).yaml")
            let check = try await runProcess(
                validator, ["--strict", "--kubernetes-version", "1.31.0", rendered], timeout: .seconds(120))
            let report = check.stdout + check.stderr
            #expect(check.status == 0, "\(overlay): \(report)")
            #expect(!report.contains("ERROR"), "\(overlay): \(report)")
            // Only the Operator's kinds go unchecked for want of a schema: checked here instead.
            let unchecked = report.split(separator: "\n").filter { $0.contains("Couldn't find schema") }
            #expect(unchecked.count == 3, "\(overlay): \(unchecked)")
            for line in unchecked {
                #expect(line.contains("with api version \(Self.operatorAPIVersion)"), "\(overlay): \(line)")
            }

            let objects = try Self.objects(in: built.stdout)
            try Self.checkRule(try Self.prometheusRule(in: objects), release: release)
            let selected = try Self.checkServiceMonitors(in: objects, release: release)
            #expect(selected == ["energy-monitor/energy-monitor", "kube-system/my-energy-scheduler-extender"])
            #expect(
                objects.contains { Self.kind($0) == "StatefulSet" && Self.name($0) == "energy-monitor" } == sharded,
                "\(overlay)")
            // Nothing else carries the release label: the patch and the component touch only theirs.
            let labelled = try objects.filter { try Self.strings($0, "metadata", "labels")["release"] != nil }
            #expect(labelled.count == 3, "\(overlay): \(labelled.map { Self.name($0) })")
        }
    }
}

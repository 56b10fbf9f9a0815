import Foundation
import JSON
import TestSupport
import Testing

/// `k8s/monitor-node-guard.yaml` evaluated as the API server evaluates it: its match
/// condition, variables and validations run in a CEL interpreter (cel-python) against node
/// updates by the monitor's service account and by others.
@Suite("Node guard policy")
struct NodeGuardPolicyTests {
    /// Whether python3 has the CEL interpreter and a YAML reader.
    static let available: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import celpy, yaml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Reads the policy and, for each case on standard input (`old`, `new`, `user`), prints
    /// `not matched`, `allowed` or `denied: MESSAGE`, one JSON list for all.
    static let evaluator = """
        import json, sys, yaml, celpy
        from celpy import celtypes
        policy = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d["kind"] == "ValidatingAdmissionPolicy")["spec"]
        env = celpy.Environment()
        def run(expression, activation):
            return env.program(env.compile(expression)).evaluate(activation)
        verdicts = []
        for case in json.load(sys.stdin):
            base = {"object": celpy.json_to_cel(case["new"]), "oldObject": celpy.json_to_cel(case["old"]),
                    "request": celpy.json_to_cel({"userInfo": {"username": case["user"]}})}
            if not all(run(c["expression"], base) for c in policy["matchConditions"]):
                verdicts.append("not matched")
                continue
            variables = celtypes.MapType({})
            for v in policy["variables"]:
                variables[celtypes.StringType(v["name"])] = run(v["expression"], dict(base, variables=variables))
            activation = dict(base, variables=variables)
            verdict = "allowed"
            for rule in policy["validations"]:
                if not run(rule["expression"], activation):
                    verdict = "denied: " + str(run(rule["messageExpression"], activation))
                    break
            verdicts.append(verdict)
        print(json.dumps(verdicts))
        """

    static let monitor = "system:serviceaccount:energy-monitor:energy-monitor"

    /// A node as the API server holds it, in the parts the policy looks at.
    struct Node {
        var annotations: [String: String]?
        var labels = ["kubernetes.io/hostname": "rpi", "zone": "lab"]
        var spec: [String: JSONValue] = ["podCIDR": "10.42.1.0/24"]
        var finalizers: [String]?

        var json: JSONValue {
            var metadata: [String: JSONValue] = ["name": "rpi", "labels": .object(labels.mapValues { .string($0) })]
            if let annotations { metadata["annotations"] = .object(annotations.mapValues { .string($0) }) }
            if let finalizers { metadata["finalizers"] = .array(finalizers.map { .string($0) }) }
            return ["metadata": .object(metadata), "spec": .object(spec)]
        }
    }

    @Test(
        "the monitor's account may change only the power annotations; other changes are refused with the reason; other users are not matched",
        .enabled(if: available, "python3 lacks cel-python or PyYAML (pip install cel-python pyyaml)"))
    func verdicts() async throws {
        let old = Node(annotations: [
            "energy.thesis.io/current-watts": "2.3", "energy.thesis.io/last-updated": "2026-01-01T00:00:00Z",
            "flannel.alpha.coreos.com/public-ip": "10.0.0.3",
        ])
        /// `old` with `change` applied.
        func changed(_ change: (inout Node) -> Void) -> Node {
            var node = old
            change(&node)
            return node
        }
        let cases: [(String, Node, Node, String, String)] = [
            (
                "power annotations written", old,
                changed {
                    $0.annotations?["energy.thesis.io/current-watts"] = "5.1"
                    $0.annotations?["energy.thesis.io/last-updated"] = "2026-01-01T00:00:15Z"
                }, Self.monitor, "allowed"
            ),
            (
                "first power annotations on a node without any", Node(),
                Node(annotations: ["energy.thesis.io/current-watts": "2.3"]), Self.monitor, "allowed"
            ),
            (
                "a power annotation removed", old,
                changed { $0.annotations?["energy.thesis.io/current-watts"] = nil }, Self.monitor, "allowed"
            ),
            (
                "another annotation changed", old,
                changed { $0.annotations?["flannel.alpha.coreos.com/public-ip"] = "6.6.6.6" }, Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not other annotations"
            ),
            (
                "another annotation removed", old,
                changed { $0.annotations?["flannel.alpha.coreos.com/public-ip"] = nil }, Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not other annotations"
            ),
            (
                "a label changed", old, changed { $0.labels["zone"] = "elsewhere" }, Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not its labels"
            ),
            (
                "a label added", old, changed { $0.labels["node-role.kubernetes.io/master"] = "true" },
                Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not its labels"
            ),
            (
                "cordoned", old, changed { $0.spec["unschedulable"] = true }, Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not its spec (taints, unschedulable)"
            ),
            (
                "tainted", old,
                changed { $0.spec["taints"] = [["key": "evil", "effect": "NoSchedule"]] }, Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not its spec (taints, unschedulable)"
            ),
            (
                "a finalizer added", old, changed { $0.finalizers = ["example.com/hold"] }, Self.monitor,
                "denied: the energy monitor may change only energy.thesis.io/* annotations of a node, not its finalizers or owners"
            ),
            ("an administrator cordons", old, changed { $0.spec["unschedulable"] = true }, "admin", "not matched"),
        ]
        let input = JSONValue.array(
            cases.map { ["old": $0.1.json, "new": $0.2.json, "user": .string($0.3)] })
        let folder = try TestEnvironment.makeFolder("node-guard")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = "\(folder)/evaluate.py"
        try Self.evaluator.write(toFile: script, atomically: true, encoding: .utf8)
        let policy = TestPaths.packageRoot.appendingPathComponent("k8s/monitor-node-guard.yaml").path
        let result = try await runProcess(
            "/usr/bin/env", ["python3", script, policy], stdin: String(decoding: input.serialized, as: UTF8.self),
            timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let verdicts = try #require(
            JSONValue.parse(Array(result.stdout.utf8))?.array, "\(result.stdout)\(result.stderr)")
        #expect(verdicts.count == cases.count)
        for (index, verdict) in verdicts.enumerated() where index < cases.count {
            #expect(verdict.string == cases[index].4, "\(cases[index].0)")
        }
    }

    @Test("the policy's prefix is the monitor's kubernetes.prefix, and its user the monitor's service account")
    func matchesTheInstallation() throws {
        let root = TestPaths.packageRoot.appendingPathComponent("k8s")
        let policy = try String(contentsOf: root.appendingPathComponent("monitor-node-guard.yaml"), encoding: .utf8)
        let config = try String(contentsOf: root.appendingPathComponent("monitor-config.yaml"), encoding: .utf8)
        let prefix = try #require(config.firstMatch(of: /\n\s+prefix: ([a-z0-9.\/-]+)\n/)?.output.1)
        #expect(policy.contains("expression: \"'\(prefix)/'\""), "monitor-config.yaml has prefix \(prefix)")
        #expect(policy.contains("'\(Self.monitor)'"))
        let rbac = try String(contentsOf: root.appendingPathComponent("monitor-rbac.yaml"), encoding: .utf8)
        #expect(rbac.contains("name: energy-monitor\n  namespace: energy-monitor"))
    }
}

import JSON
import Kubernetes

extension ClusterCheck {
    /// `GET /version`: reachable, the credentials accepted, and its version.
    func checkAPIServer() async -> (CheckResult, KubernetesVersion?) {
        let server = client.connection.server
        let bytes: [UInt8]
        do {
            bytes = try await client.get(path: "/version")
        } catch {
            let fix: String
            switch error.failure {
            case .unauthorized:
                fix = "the API server refused the credentials of \(client.connection.origin): renew them (kubectl get nodes must work)"
            case .credentials:
                fix = "make the kubeconfig's exec plugin work (run it by hand), or use another context (--context)"
            case .transport(.tls):
                fix = "the server's certificate is not signed by the kubeconfig's certificate-authority, or tls-server-name is needed"
            case .transport:
                fix = "check the kubeconfig's server and the network (kubectl cluster-info), or choose --kubeconfig/--context"
            default:
                fix = "kubectl version must work with the same kubeconfig"
            }
            return (CheckResult("api-server", .fail, "cannot reach the API server at \(server): \(error)", fix: fix), nil)
        }
        let text = JSONValue.parse(bytes)?["gitVersion"]?.string ?? ""
        guard let version = KubernetesVersion(text) else {
            return (
                CheckResult(
                    "api-server", .warn, "reachable at \(server), but /version names no version (\"\(text.prefix(40))\")",
                    fix: "is this a Kubernetes API server?"), nil
            )
        }
        guard version.major > 1 || version.minor >= 30 else {
            return (
                CheckResult(
                    "api-server", .warn,
                    "reachable at \(server), Kubernetes \(text): older than 1.30, which the node guard "
                        + "(ValidatingAdmissionPolicy v1) needs",
                    fix: "upgrade the cluster to 1.30 or newer"), version
            )
        }
        return (CheckResult("api-server", .ok, "reachable at \(server), Kubernetes \(text)"), version)
    }

    /// `SelfSubjectAccessReview`s as the service account `namespace/account` for each of
    /// `uses`: what `kubectl auth can-i VERB RESOURCE --as=system:serviceaccount:NS:NAME`
    /// asks, with the groups a service-account token carries.
    func checkPermissions(
        name: String, account: String, namespace: String, uses: [(verb: String, resource: String)], rbacFile: String
    ) async -> CheckResult {
        let user = "system:serviceaccount:\(namespace):\(account)"
        let acting = client.impersonating(
            Impersonation(
                user: user, groups: ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"]))
        var missing: [String] = []
        for use in uses {
            let review: JSONValue = [
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": ["resourceAttributes": ["verb": .string(use.verb), "resource": .string(use.resource), "group": ""]],
            ]
            let answer: [UInt8]
            do {
                answer = try await acting.post(
                    path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: review.serialized)
            } catch {
                if error.isForbidden {
                    return CheckResult(
                        name, .warn, "cannot ask as \(user): \(error)",
                        fix: "run check as a user who may impersonate service accounts (cluster-admin), or ask "
                            + "kubectl auth can-i \(use.verb) \(use.resource) --as=\(user)")
                }
                return CheckResult(name, .fail, "cannot ask the API server as \(user): \(error)")
            }
            if JSONValue.parse(answer)?["status"]?["allowed"]?.bool != true {
                missing.append("\(use.verb) \(use.resource)")
            }
        }
        let wanted = uses.map { "\($0.verb) \($0.resource)" }.joined(separator: ", ")
        guard missing.isEmpty else {
            return CheckResult(
                name, .fail, "\(user) may not \(missing.joined(separator: ", ")) (it needs \(wanted))",
                fix: "kubectl apply -k k8s/ (\(rbacFile)); after changing a namespace, change it in the binding too")
        }
        return CheckResult(name, .ok, "\(user) may \(wanted)")
    }

    /// The ValidatingAdmissionPolicy that keeps the monitor's node patches to its annotations,
    /// its binding, and its prefix against the monitor's.
    func checkNodeGuard(prefix: String?) async -> CheckResult {
        let name = configuration.nodeGuardPolicy
        let base = "/apis/admissionregistration.k8s.io/v1"
        let fix = "kubectl apply -k k8s/ (k8s/monitor-node-guard.yaml; Kubernetes 1.30 or newer)"
        let policy: JSONValue
        do {
            policy = JSONValue.parse(try await client.get(path: "\(base)/validatingadmissionpolicies/\(name)")) ?? .null
            _ = try await client.get(path: "\(base)/validatingadmissionpolicybindings/\(name)")
        } catch {
            if error.isNotFound {
                return CheckResult(
                    "node-guard", .warn,
                    "ValidatingAdmissionPolicy \(name) or its binding is not installed: the monitor's token may "
                        + "change any field of a node (labels, taints, unschedulable)",
                    fix: fix)
            }
            return CheckResult("node-guard", .warn, "cannot read ValidatingAdmissionPolicy \(name): \(error)", fix: fix)
        }
        if let prefix {
            let expression = policy["spec"]?["variables"]?.array?.first { $0["name"]?.string == "prefix" }?["expression"]?
                .string ?? ""
            guard expression.contains("'\(prefix)/'") else {
                return CheckResult(
                    "node-guard", .fail,
                    "ValidatingAdmissionPolicy \(name) allows annotations \(expression) while the monitor writes \(prefix)/*: "
                        + "every annotation write will be refused",
                    fix: "set the policy's prefix variable to '\(prefix)/' (k8s/monitor-node-guard.yaml)")
            }
        }
        return CheckResult("node-guard", .ok, "ValidatingAdmissionPolicy \(name) keeps the monitor to its annotations")
    }
}

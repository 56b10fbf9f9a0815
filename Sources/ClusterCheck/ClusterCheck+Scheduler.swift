import Exposition
import Foundation
import JSON
import Kubernetes
import UserInput

extension ClusterCheck {
    /// The second scheduler's Deployment.
    func schedulerDeployment() async -> Result<JSONValue, CheckFailure> {
        let namespace = configuration.schedulerNamespace
        let name = configuration.schedulerDeployment
        do {
            let bytes = try await client.get(path: "/apis/apps/v1/namespaces/\(namespace)/deployments/\(name)")
            guard let object = JSONValue.parse(bytes), object.object != nil else {
                return .failure(CheckFailure("Deployment \(namespace)/\(name): not an object", status: nil))
            }
            return .success(object)
        } catch {
            return .failure(
                CheckFailure(
                    error.isNotFound ? "Deployment \(namespace)/\(name) is not installed"
                        : "cannot read Deployment \(namespace)/\(name): \(error)", status: error.status?.code))
        }
    }

    /// A container of the Deployment's pod template.
    static func container(_ deployment: JSONValue, named name: String) -> JSONValue? {
        deployment["spec"]?["template"]?["spec"]?["containers"]?.array?.first { $0["name"]?.string == name }
    }

    /// `scheduler`: the Deployment exists and has a ready replica.
    func checkScheduler(_ deployment: Result<JSONValue, CheckFailure>) -> CheckResult {
        let label = "\(configuration.schedulerNamespace)/\(configuration.schedulerDeployment)"
        switch deployment {
        case .failure(let failure):
            return CheckResult(
                "scheduler", .fail, failure.message,
                fix: failure.status == 404 ? "kubectl apply -k k8s/" : "run check as a user who may get deployments in \(configuration.schedulerNamespace)")
        case .success(let object):
            let wanted = object["spec"]?["replicas"]?.integer ?? 1
            let ready = object["status"]?["readyReplicas"]?.integer ?? 0
            guard ready >= 1 else {
                return CheckResult(
                    "scheduler", .fail, "\(label) is not running (\(ready) of \(wanted) replicas ready)",
                    fix: "kubectl -n \(configuration.schedulerNamespace) describe deployment \(configuration.schedulerDeployment); "
                        + "kubectl -n \(configuration.schedulerNamespace) logs deploy/\(configuration.schedulerDeployment) -c kube-scheduler")
            }
            return CheckResult("scheduler", .ok, "\(label) is running (\(ready) of \(wanted) replicas ready)")
        }
    }

    /// `scheduler-version`: the kube-scheduler image's tag within the version-skew policy of
    /// the API server (the same minor version, or one below).
    func checkSchedulerVersion(_ deployment: Result<JSONValue, CheckFailure>, server: KubernetesVersion?)
        -> CheckResult
    {
        guard case .success(let object) = deployment else {
            return CheckResult("scheduler-version", .warn, "the second scheduler's Deployment cannot be read")
        }
        let image = Self.container(object, named: "kube-scheduler")?["image"]?.string ?? ""
        let tag = image.split(separator: "@").first.flatMap { $0.split(separator: ":").dropFirst().last }.map(String.init) ?? ""
        let fix = "set newTag of registry.k8s.io/kube-scheduler in k8s/kustomization.yaml to the API server's version "
            + "(kubectl version) and kubectl apply -k k8s/"
        guard let version = KubernetesVersion(tag) else {
            return CheckResult("scheduler-version", .warn, "the kube-scheduler image \"\(image)\" has no version tag", fix: fix)
        }
        guard let server else {
            return CheckResult("scheduler-version", .warn, "kube-scheduler \(version); the API server's version is unknown")
        }
        guard version.isSchedulerWithinSkew(of: server) else {
            let relation = version.minor > server.minor || version.major != server.major ? "newer than" : "more than one minor below"
            return CheckResult(
                "scheduler-version", .warn,
                "kube-scheduler \(tag) is \(relation) the API server \(server): outside the version-skew policy "
                    + "(the same minor version, or one below)", fix: fix)
        }
        return CheckResult("scheduler-version", .ok, "kube-scheduler \(tag) with API server \(server): within the skew policy")
    }

    /// `scheduler-config`: the configuration the scheduler reads names the profile and the
    /// extender; with `nodeCacheCapable: true` the extender keeps a node view (`--watch-nodes`).
    func checkSchedulerConfiguration(_ deployment: Result<JSONValue, CheckFailure>) async -> CheckResult {
        let namespace = configuration.schedulerNamespace
        let name = configuration.schedulerConfigMap
        let text: String
        do throws(CheckFailure) {
            text = try await configMapValue(namespace: namespace, name: name, key: "scheduler-config.yaml")
        } catch {
            return CheckResult(
                "scheduler-config", .fail, error.message,
                fix: error.status == 404 || error.status == nil ? "kubectl apply -k k8s/" : "run check as a user who may get configmaps in \(namespace)")
        }
        let root: YAMLValue?
        do {
            root = try YAMLDocument.parse(text)
        } catch {
            return CheckResult("scheduler-config", .fail, "ConfigMap \(namespace)/\(name): \(error)", fix: "correct scheduler-config.yaml")
        }
        let profiles = (try? root?.member("profiles")?.list()) ?? []
        guard profiles.contains(where: { $0.member("schedulerName")?.scalar?.text == configuration.schedulerName }) else {
            return CheckResult(
                "scheduler-config", .fail, "no profile with schedulerName \(configuration.schedulerName)",
                fix: "restore k8s/scheduler/scheduler-config.yaml and kubectl apply -k k8s/")
        }
        let extenders = (try? root?.member("extenders")?.list()) ?? []
        guard let extender = extenders.first(where: {
            ($0.member("urlPrefix")?.scalar?.text ?? "").hasSuffix("/scheduler") && $0.member("prioritizeVerb") != nil
        }) else {
            return CheckResult(
                "scheduler-config", .fail, "the configuration names no extender (urlPrefix .../scheduler with prioritizeVerb)",
                fix: "restore the extenders: entry of k8s/scheduler/scheduler-config.yaml and kubectl apply -k k8s/")
        }
        let url = extender.member("urlPrefix")?.scalar?.text ?? ""
        let cached = (try? extender.member("nodeCacheCapable")?.bool()) ?? false
        guard cached else {
            return CheckResult(
                "scheduler-config", .warn,
                "the extender at \(url) gets whole Node objects (nodeCacheCapable: false): a few hundred nodes exceed its "
                    + "body limit, and kube-scheduler 1.34+ then scores every node as idle (kubernetes/kubernetes#141781)",
                fix: "nodeCacheCapable: true with the extender's --watch-nodes (k8s/scheduler/)")
        }
        if case .success(let object) = deployment {
            let container = Self.container(object, named: "energy-extender")
            let arguments = (container?["command"]?.array ?? []) + (container?["args"]?.array ?? [])
            guard arguments.contains(.string("--watch-nodes")) else {
                return CheckResult(
                    "scheduler-config", .fail,
                    "nodeCacheCapable: true, but the extender keeps no node view (no --watch-nodes): every node is scored "
                        + "without its power",
                    fix: "add --watch-nodes to the energy-extender container (k8s/scheduler/deployment.yaml)")
            }
        }
        return CheckResult(
            "scheduler-config", .ok,
            "profile \(configuration.schedulerName) calls the extender at \(url) with node names (nodeCacheCapable: true)")
    }

    /// `monitor-metrics`: the monitor's `/metrics` answers (through the API server's service
    /// proxy unless a URL is given), and its plugs are up.
    func checkMetrics() async -> CheckResult {
        let text: String
        let source: String
        do {
            if let fetch = configuration.fetchMetrics {
                source = "the monitor"
                text = try await fetch()
            } else {
                let namespace = configuration.monitorNamespace
                let service = configuration.monitorService
                source = "service \(namespace)/\(service)"
                let bytes = try await client.get(
                    path: "/api/v1/namespaces/\(namespace)/services/\(service)/proxy/metrics", maxResponseBytes: 64 << 20)
                text = String(decoding: bytes, as: UTF8.self)
            }
        } catch {
            return CheckResult(
                "monitor-metrics", .fail, "cannot read the monitor's /metrics: \(error)",
                fix: "kubectl -n \(configuration.monitorNamespace) get pods,endpoints; or give --monitor-url URL")
        }
        let exposition = ExpositionReader(text)
        guard exposition.sum("energy_monitor_build_info") != nil else {
            return CheckResult(
                "monitor-metrics", .fail, "\(source) answers /metrics without energy_monitor_build_info: not the monitor",
                fix: "check the Service's selector and port (k8s/monitor-service.yaml)")
        }
        let up = exposition.lines.filter { $0.hasPrefix("energy_monitor_plug_up{") }
        let down = up.filter { $0.hasSuffix(" 0") || $0.hasSuffix(" 0.0") }.compactMap { line -> String? in
            guard let start = line.range(of: "node=\"") else { return nil }
            return String(line[start.upperBound...].prefix { $0 != "\"" })
        }
        guard down.isEmpty else {
            return CheckResult(
                "monitor-metrics", .warn, "\(source) answers; plugs down: \(Self.list(down)) (\(up.count - down.count) of \(up.count) up)",
                fix: "see energy_monitor_poll_errors_total{reason} and the monitor's log for why")
        }
        return CheckResult("monitor-metrics", .ok, "\(source) answers /metrics; \(up.count) plugs up")
    }
}

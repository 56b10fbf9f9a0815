import JSON
import Kubernetes
import Logging
import Synchronization

/// The pods of the cluster as a watch keeps them (node, phase, CPU requests, owner), by
/// namespace and name: what the per-pod attribution needs beside the metrics API's usage,
/// which names pods but not their nodes. Only pods bound to a node are kept.
final class PodDirectory: Sendable {
    private let pods = Mutex<[String: PodSummary]>([:])
    private let synced = Atomic<Bool>(false)

    /// The key of a pod.
    static func key(namespace: String, name: String) -> String { "\(namespace)/\(name)" }

    /// The pod, if known.
    func pod(namespace: String, name: String) -> PodSummary? {
        pods.withLock { $0[Self.key(namespace: namespace, name: name)] }
    }

    /// The known pods on `node`.
    func pods(on node: String) -> [PodSummary] {
        pods.withLock { $0.values.filter { $0.nodeName == node } }
    }

    /// Whether the first listing arrived.
    var isSynced: Bool { synced.load(ordering: .acquiring) }

    /// Applies one update of the watch.
    func apply(_ update: ResumableWatch.Update) {
        switch update {
        case .listed(let objects):
            var fresh: [String: PodSummary] = [:]
            for object in objects {
                if let pod = PodSummary(json: object), pod.nodeName != nil {
                    fresh[Self.key(namespace: pod.namespace, name: pod.name)] = pod
                }
            }
            pods.withLock { $0 = fresh }
            synced.store(true, ordering: .releasing)
        case .event(let event):
            guard let pod = PodSummary(json: event.object) else { return }
            let key = Self.key(namespace: pod.namespace, name: pod.name)
            pods.withLock { pods in
                if event.kind == .deleted || pod.nodeName == nil {
                    pods[key] = nil
                } else {
                    pods[key] = pod
                }
            }
        }
    }

    /// Follows the cluster's pods until cancelled; a watch that ends with an error is started
    /// again after `retryMilliseconds`, logged once per outage.
    func follow(client: KubernetesClient, logger: Logger, retryMilliseconds: Int64 = 10_000) async {
        var failing = false
        while !Task.isCancelled {
            let watch = ResumableWatch(client: client, watchPath: "/api/v1/pods") {
                () throws(KubernetesRequestError) -> ResumableWatch.Listing in
                let list = try await client.list(path: "/api/v1/pods")
                return (list.items, list.resourceVersion)
            }
            do {
                for try await update in watch.updates() {
                    if failing {
                        logger.info("watching pods again")
                        failing = false
                    }
                    apply(update)
                }
            } catch {
                if !failing {
                    logger.warning(
                        "cannot watch pods: per-pod energy waits for them",
                        metadata: ["error": "\(error)"])
                    failing = true
                }
            }
            try? await Task.sleep(for: .milliseconds(retryMilliseconds))
        }
    }
}

import ClusterSimulator
import Foundation
import JSON
import Kubernetes
import Synchronization
import TestSupport
import Testing

/// Watch streams, resumable watches and the write verbs of the client, against the cluster
/// simulator: events as they happen, prompt cancellation, `410 Gone` in both forms, refusals
/// with the server's status, resuming after a dropped watch and relisting after 410.
@Suite("Kubernetes watches and writes")
struct KubernetesWatchTests {
    static func job(_ name: String) -> [UInt8] {
        JSONValue.object([
            "apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": .string(name)],
            "spec": [
                "template": ["spec": ["restartPolicy": "Never", "containers": [["name": "c", "image": "busybox"]]]]
            ],
        ]).serialized
    }

    static let manual = ScriptedLifecycle(
        placement: { _ in .node("tvpc") }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) })

    @Test("a watch delivers events as they happen, ends at timeoutSeconds, and stops at once when the caller stops")
    func liveEvents() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let seen = Mutex<[String]>([])
            let watching = Task {
                for try await event in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods", resourceVersion: nil, timeoutSeconds: 30)
                where event.kind != .bookmark {
                    let phase = event.object["status"]?["phase"]?.string ?? ""
                    seen.withLock { $0.append("\(event.kind.rawValue) \(phase)") }
                    if phase == "Succeeded" { return }
                }
            }
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 1 })
            _ = try await cluster.client.post(path: "/apis/batch/v1/namespaces/ml/jobs", body: Self.job("live"))
            // Bounds for an overloaded machine (once, `stress --cpu 2` beside the suite kept the
            // simulated kubelet's start from running for 15 s); what is checked is the order.
            #expect(
                await eventually(within: .seconds(60)) { seen.withLock { $0.contains("MODIFIED Running") } },
                "\(seen.withLock { $0 })")
            let pod = try #require(await cluster.simulator.pods().first)
            try await cluster.simulator.finishPod(pod.name, namespace: "ml")
            try await withTimeout(.seconds(30), "the watch to see the pod succeed") { try await watching.value }
            #expect(seen.withLock { $0.first } == "ADDED Pending")
            // The consumer returned: the transfer is cancelled, and the server's watch closes at
            // its next write (a bookmark, each second).
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 0 })
            // Bookmarks move the resource version on, and the client passes them through.
            var bookmark: WatchEvent?
            for try await event in cluster.client.watch(
                path: "/api/v1/namespaces/ml/pods", resourceVersion: nil, timeoutSeconds: 2)
            where event.kind == .bookmark {
                bookmark = event
            }
            #expect(bookmark?.resourceVersion != nil)

            let started = ContinuousClock.now
            for try await _ in cluster.client.watch(
                path: "/api/v1/namespaces/ml/pods?labelSelector=none%3Dnone", resourceVersion: nil, timeoutSeconds: 1)
            {}
            // Ended by the server at its timeout, not by the client's own (a minute): the bound
            // leaves a loaded machine its scheduling noise.
            #expect(ContinuousClock.now - started < .seconds(15))

            let idle = Task {
                for try await _ in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods?labelSelector=none%3Dnone", resourceVersion: nil,
                    timeoutSeconds: 300)
                {}
            }
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 1 })
            let cancelled = ContinuousClock.now
            idle.cancel()
            _ = try? await idle.value
            // Ended by the cancellation, not by the server's 300 s or the client's own timeout
            // (a minute): the bound leaves a loaded machine its scheduling noise.
            #expect(
                ContinuousClock.now - cancelled < .seconds(15),
                "cancelling a quiet watch took \(ContinuousClock.now - cancelled)")
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 0 })
        }
    }

    @Test("410 Gone as a response and as an ERROR event; 403 at the start carries the server's message")
    func refusals() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            await cluster.simulator.fail(next: 1, matching: RequestMatch(verb: "watch", resource: "pods"), status: 410)
            do {
                for try await _ in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods", resourceVersion: "1", timeoutSeconds: 5)
                {}
                Issue.record("no 410")
            } catch let error as KubernetesRequestError {
                #expect(error.isGone)
            }
            let task = Task { () -> KubernetesRequestError? in
                do {
                    for try await _ in cluster.client.watch(
                        path: "/api/v1/namespaces/ml/pods", resourceVersion: nil, timeoutSeconds: 30)
                    {}
                    return nil
                } catch let error as KubernetesRequestError {
                    return error
                }
            }
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 1 })
            await cluster.simulator.expireWatches()
            let gone = try await withTimeout(.seconds(5), "the ERROR event") { try await task.value }
            #expect(gone?.isGone == true, "\(String(describing: gone))")
            await cluster.simulator.forbid("watch", "pods")
            do {
                for try await _ in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods", resourceVersion: nil, timeoutSeconds: 5)
                {}
                Issue.record("no 403")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden)
                #expect(error.description.contains("cannot watch resource \"pods\""), "\(error)")
            }
        }
    }

    @Test("a resumable watch survives a dropped connection without losing an event and lists again after 410")
    func resumable() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let client = cluster.client
            let path = "/api/v1/namespaces/ml/pods"
            let retries = Mutex(0)
            let watch = ResumableWatch(
                client: client, watchPath: path, onRetry: { _, _ in retries.withLock { $0 += 1 } }
            ) {
                () throws(KubernetesRequestError) in
                let list = try await client.get(path: path)
                let value = JSONValue.parse(list)
                return (value?["items"]?.array ?? [], value?["metadata"]?["resourceVersion"]?.string ?? "0")
            }
            let updates = Mutex<[ResumableWatch.Update]>([])
            let following = Task {
                for try await update in watch.updates() { updates.withLock { $0.append(update) } }
            }
            defer { following.cancel() }
            #expect(await eventually(within: .seconds(60)) { await cluster.simulator.openWatches() == 1 })
            _ = try await client.post(path: "/apis/batch/v1/namespaces/ml/jobs", body: Self.job("one"))
            #expect(await eventually(within: .seconds(60)) { updates.withLock { $0.count } >= 3 })
            await cluster.simulator.dropWatches()
            // While no watch is open, the pod runs and succeeds: the resumed watch must replay it.
            let pod = try #require(await cluster.simulator.pods().first)
            try await cluster.simulator.finishPod(pod.name, namespace: "ml")
            #expect(
                await eventually(within: .seconds(60)) {
                    updates.withLock {
                        $0.contains {
                            if case .event(let e) = $0 { e.object["status"]?["phase"] == "Succeeded" } else { false }
                        }
                    }
                })
            #expect(retries.withLock { $0 } >= 1)
            let resumed = await cluster.simulator.requests().filter { $0.verb == "watch" }
            #expect(resumed.count >= 2)
            #expect(resumed.last?.query["resourceVersion"] != nil, "the watch resumed without a resource version")

            await cluster.simulator.expireWatches()
            #expect(
                await eventually(within: .seconds(15)) {
                    updates.withLock { $0.filter { if case .listed = $0 { true } else { false } }.count } == 2
                })
            let relisted = updates.withLock { $0 }.compactMap { update -> [JSONValue]? in
                if case .listed(let objects) = update { objects } else { nil }
            }
            #expect(relisted.last?.first?["status"]?["phase"] == "Succeeded")
        }
    }

    @Test("a refused resumable watch ends with the error instead of retrying")
    func refusedResumable() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let client = cluster.client
            await cluster.simulator.forbid("list", "pods")
            let watch = ResumableWatch(client: client, watchPath: "/api/v1/namespaces/ml/pods") {
                () throws(KubernetesRequestError) in
                _ = try await client.get(path: "/api/v1/namespaces/ml/pods")
                return ([], "0")
            }
            do {
                for try await _ in watch.updates() {}
                Issue.record("no error")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden)
            }
        }
    }

    @Test("POST and DELETE: the body goes out as JSON, DeleteOptions names the propagation policy")
    func writes() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let created = JSONValue.parse(
                try await cluster.client.post(path: "/apis/batch/v1/namespaces/ml/jobs", body: Self.job("w")))
            #expect(created?["kind"] == "Job")
            _ = try await cluster.client.delete(
                path: "/apis/batch/v1/namespaces/ml/jobs/w", propagationPolicy: .foreground)
            let delete = try #require(await cluster.simulator.requests().last { $0.method == "DELETE" })
            #expect(
                JSONValue.parse(Array(delete.body.utf8)) == [
                    "kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground",
                ])
            #expect(
                KubernetesClient.queryValue("app=ml-workflow,!energy-monitor/probe")
                    == "app%3Dml-workflow%2C%21energy-monitor%2Fprobe")
        }
    }

    @Test("retry policy: Retry-After capped, backoff doubling with jitter, no retry for refusals")
    func retryPolicy() {
        let policy = RetryPolicy.standard
        let status = APIStatus(code: 429, message: "slow down")
        #expect(
            policy.delayMilliseconds(after: .throttled(status, retryAfterSeconds: 2), failures: 1, jitter: 0.5) == 2000)
        #expect(
            policy.delayMilliseconds(after: .throttled(status, retryAfterSeconds: 1e16), failures: 1, jitter: 0)
                == 300_000)
        #expect(policy.delayMilliseconds(after: .unavailable(status), failures: 1, jitter: 0) == 500)
        #expect(policy.delayMilliseconds(after: .transport(.timeout), failures: 10, jitter: 1) == 30_000)
        #expect(
            policy.delayMilliseconds(after: .rejected(APIStatus(code: 403, message: "no")), failures: 1, jitter: 0)
                == nil)
        #expect(
            policy.delayMilliseconds(after: .unauthorized(APIStatus(code: 401, message: "no")), failures: 1, jitter: 0)
                == nil)
    }
}

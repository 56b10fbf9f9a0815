import ClusterSimulator
import Foundation
import JSON
import Kubernetes
import TestSupport
import Testing

/// The API stand-in through the real Kubernetes client: Jobs and their pods' lifecycle,
/// lists, watches and resource versions, deletion propagation, bindings, node patches, the
/// injected faults, and refusals of bad requests.
@Suite("Cluster simulator")
struct ClusterSimulatorTests {
    static let namespace = "ml"

    /// A Job with one container, as the workflow runner writes them.
    static func job(
        _ name: String, backoffLimit: Int = 0, ignoreDisruptions: Bool = true, labels: [String: String] = [:]
    ) -> [UInt8] {
        var spec: [String: JSONValue] = [
            "backoffLimit": .integer(Int64(backoffLimit)),
            "template": [
                "metadata": ["labels": .object(labels.mapValues { .string($0) })],
                "spec": ["restartPolicy": "Never", "containers": [["name": "main", "image": "busybox"]]],
            ],
        ]
        if ignoreDisruptions {
            spec["podFailurePolicy"] = [
                "rules": [["action": "Ignore", "onPodConditions": [["type": "DisruptionTarget"]]]]
            ]
        }
        return JSONValue.object([
            "apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": .string(name)], "spec": .object(spec),
        ]).serialized
    }

    static func create(_ cluster: RunningCluster, _ body: [UInt8]) async throws -> JSONValue {
        try #require(
            JSONValue.parse(
                try await cluster.client.post(path: "/apis/batch/v1/namespaces/\(namespace)/jobs", body: body)))
    }

    static func jobCondition(_ cluster: RunningCluster, _ name: String) async throws -> String? {
        let job = JSONValue.parse(
            try await cluster.client.get(path: "/apis/batch/v1/namespaces/\(namespace)/jobs/\(name)"))
        return job?["status"]?["conditions"]?[0]?["type"]?.string
    }

    @Test("a Job's pod is created, bound, runs and succeeds; the Job completes; times are whole seconds")
    func jobLifecycle() async throws {
        try await withCluster(lifecycle: ScriptedLifecycle.fixed(node: "rpi", duration: .milliseconds(1200))) {
            cluster in
            let created = try await Self.create(cluster, Self.job("prep", labels: ["app": "ml-workflow"]))
            #expect(created["metadata"]?["uid"]?.string?.isEmpty == false)
            #expect(created["status"]?["active"] == 1)
            let done = await eventually(within: .seconds(60)) {
                (try? await Self.jobCondition(cluster, "prep")) == "Complete"
            }
            #expect(done)
            let list = try #require(
                JSONValue.parse(
                    try await cluster.client.get(path: "/api/v1/namespaces/ml/pods?labelSelector=job-name%3Dprep")))
            let pod = try #require(list["items"]?[0])
            #expect(list["items"]?.array?.count == 1)
            #expect(pod["spec"]?["nodeName"] == "rpi")
            #expect(pod["status"]?["phase"] == "Succeeded")
            #expect(pod["metadata"]?["labels"]?["app"] == "ml-workflow")
            #expect(pod["metadata"]?["ownerReferences"]?[0]?["kind"] == "Job")
            let terminated = try #require(pod["status"]?["containerStatuses"]?[0]?["state"]?["terminated"])
            #expect(terminated["exitCode"] == 0)
            let started = try #require(terminated["startedAt"]?.string)
            let finished = try #require(terminated["finishedAt"]?.string)
            #expect(started.hasSuffix("Z") && !started.contains("."), "RFC 3339 whole seconds: \(started)")
            #expect(finished >= started)
            #expect(list["metadata"]?["resourceVersion"]?.string != nil)
        }
    }

    @Test("a failing pod fails the Job at backoffLimit 0; at backoffLimit 1 it is replaced once")
    func failures() async throws {
        let lifecycle = ScriptedLifecycle(
            placement: { _ in .node("tvpc") },
            run: { pod, _ in
                PodRun(
                    startDelay: .milliseconds(50), duration: .milliseconds(300),
                    outcome: pod.attempt == 0 || pod.jobName == "hard" ? .fail(exitCode: 3) : .succeed)
            })
        try await withCluster(lifecycle: lifecycle) { cluster in
            _ = try await Self.create(cluster, Self.job("hard"))
            _ = try await Self.create(cluster, Self.job("soft", backoffLimit: 1))
            #expect(
                await eventually(within: .seconds(60)) { (try? await Self.jobCondition(cluster, "hard")) == "Failed" })
            #expect(
                await eventually(within: .seconds(60)) { (try? await Self.jobCondition(cluster, "soft")) == "Complete" }
            )
            let jobs = await cluster.simulator.jobs()
            let hard = try #require(jobs.first { $0.name == "hard" })
            #expect(hard.failed == 1 && hard.condition?.reason == "BackoffLimitExceeded")
            let soft = try #require(jobs.first { $0.name == "soft" })
            #expect(soft.failed == 1 && soft.succeeded == 1 && soft.podsCreated == 2)
            let pods = await cluster.simulator.pods().filter { $0.job?.name == "soft" }
            #expect(pods.map(\.phase) == [.failed, .succeeded])
            #expect(pods.first?.exitCode == 3)
        }
    }

    @Test("an evicted pod is replaced without counting when the Job ignores disruptions, and counts otherwise")
    func eviction() async throws {
        let lifecycle = ScriptedLifecycle(
            placement: { _ in .node("dgoh-wyze") }, run: { _, _ in PodRun(duration: nil) })
        try await withCluster(lifecycle: lifecycle) { cluster in
            _ = try await Self.create(cluster, Self.job("tolerant"))
            _ = try await Self.create(cluster, Self.job("strict", ignoreDisruptions: false))
            #expect(
                await eventually(within: .seconds(15)) {
                    await cluster.simulator.pods().filter { $0.phase == .running }.count == 2
                })
            for pod in await cluster.simulator.pods() {
                try await cluster.simulator.evictPod(pod.name, namespace: Self.namespace)
            }
            #expect(
                await eventually(within: .seconds(15)) {
                    await cluster.simulator.pods().filter { $0.job?.name == "tolerant" && $0.phase == .running }.count
                        == 1
                })
            #expect(
                await eventually(within: .seconds(15)) { (try? await Self.jobCondition(cluster, "strict")) == "Failed" }
            )
            let evicted = try #require(
                await cluster.simulator.pods().first { $0.job?.name == "tolerant" && $0.reason == "Evicted" })
            let object = try #require(
                JSONValue.parse(try await cluster.client.get(path: "/api/v1/namespaces/ml/pods/\(evicted.name)")))
            #expect(object["status"]?["reason"] == "Evicted")
            let conditions = object["status"]?["conditions"]?.array ?? []
            #expect(conditions.contains { $0["type"] == "DisruptionTarget" && $0["status"] == "True" })
            #expect(await cluster.simulator.jobs().first { $0.name == "tolerant" }?.failed == 0)
            let replacement = try #require(
                await cluster.simulator.pods().first { $0.job?.name == "tolerant" && $0.phase == .running })
            try await cluster.simulator.finishPod(replacement.name, namespace: Self.namespace)
            #expect(
                await eventually(within: .seconds(15)) {
                    (try? await Self.jobCondition(cluster, "tolerant")) == "Complete"
                })
            await #expect(throws: ClusterSimulator.ControlError.self) {
                try await cluster.simulator.finishPod(replacement.name, namespace: Self.namespace)
            }
        }
    }

    @Test("a watch replays from a resource version, filters by label and field, and says 410 once the history is gone")
    func watches() async throws {
        try await withCluster(lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: .milliseconds(200))) {
            cluster in
            let before = try #require(
                JSONValue.parse(try await cluster.client.get(path: "/apis/batch/v1/namespaces/ml/jobs"))?["metadata"]?[
                    "resourceVersion"]?.string)
            _ = try await Self.create(cluster, Self.job("a", labels: ["pick": "yes"]))
            _ = try await Self.create(cluster, Self.job("b"))
            #expect(await eventually(within: .seconds(60)) { await cluster.simulator.jobs().allSatisfy(\.isFinished) })
            // Replayed from before the Jobs: all of a's pod events, none of b's.
            var phases: [String] = []
            for try await event in cluster.client.watch(
                path: "/api/v1/namespaces/ml/pods?labelSelector=pick%3Dyes", resourceVersion: before, timeoutSeconds: 1)
            where event.kind != .bookmark {
                phases.append(event.object["status"]?["phase"]?.string ?? "")
                #expect(event.object["metadata"]?["labels"]?["job-name"] == "a")
            }
            #expect(phases.first == "Pending" && phases.last == "Succeeded", "\(phases)")
            var names: [String] = []
            for try await event in cluster.client.watch(
                path: "/apis/batch/v1/namespaces/ml/jobs?fieldSelector=metadata.name%3Db", resourceVersion: nil,
                timeoutSeconds: 1) where event.kind != .bookmark
            {
                #expect(event.kind == .added)
                names.append(event.object["metadata"]?["name"]?.string ?? "")
            }
            #expect(names == ["b"])
            await cluster.simulator.expireWatches()
            await #expect(throws: KubernetesRequestError.self) {
                for try await _ in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods", resourceVersion: before, timeoutSeconds: 1)
                {}
            }
            do {
                for try await _ in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods", resourceVersion: before, timeoutSeconds: 1)
                {}
            } catch let error as KubernetesRequestError {
                #expect(error.isGone, "\(error)")
            }
        }
    }

    @Test("deleting a Job orphans its pods by default and deletes them with propagationPolicy Background")
    func propagation() async throws {
        let lifecycle = ScriptedLifecycle(placement: { _ in .node("tvpc") }, run: { _, _ in PodRun(duration: nil) })
        try await withCluster(lifecycle: lifecycle) { cluster in
            _ = try await Self.create(cluster, Self.job("kept"))
            _ = try await Self.create(cluster, Self.job("gone"))
            #expect(
                await eventually(within: .seconds(15)) {
                    await cluster.simulator.pods().filter { $0.phase == .running }.count == 2
                })
            _ = try await cluster.client.delete(path: "/apis/batch/v1/namespaces/ml/jobs/kept", propagationPolicy: nil)
            _ = try await cluster.client.delete(
                path: "/apis/batch/v1/namespaces/ml/jobs/gone", propagationPolicy: .background)
            let pods = await cluster.simulator.pods()
            #expect(pods.map { $0.job?.name } == ["kept"])
            #expect(await cluster.simulator.jobs().isEmpty)
            let requests = await cluster.simulator.requests().filter { $0.method == "DELETE" }
            #expect(requests.last?.body.contains(#""propagationPolicy":"Background""#) == true)
            await #expect(throws: KubernetesRequestError.self) {
                _ = try await cluster.client.delete(
                    path: "/apis/batch/v1/namespaces/ml/jobs/gone", propagationPolicy: .background)
            }
        }
    }

    @Test("a pod deleted while its Job runs is replaced; field selectors on spec.nodeName and status.phase")
    func deletedPod() async throws {
        let lifecycle = ScriptedLifecycle(
            placement: { _ in .node("rpi") }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) })
        try await withCluster(lifecycle: lifecycle) { cluster in
            _ = try await Self.create(cluster, Self.job("again"))
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.pods().first?.phase == .running })
            let first = try #require(await cluster.simulator.pods().first)
            _ = try await cluster.client.delete(
                path: "/api/v1/namespaces/ml/pods/\(first.name)", propagationPolicy: nil)
            #expect(
                await eventually(within: .seconds(15)) {
                    let pods = await cluster.simulator.pods()
                    return pods.count == 1 && pods.first?.name != first.name && pods.first?.phase == .running
                })
            let running = try #require(
                JSONValue.parse(
                    try await cluster.client.get(
                        path: "/api/v1/pods?fieldSelector=spec.nodeName%3Drpi,status.phase%3DRunning")))
            #expect(running["items"]?.array?.count == 1)
            let pending = try #require(
                JSONValue.parse(try await cluster.client.get(path: "/api/v1/pods?fieldSelector=status.phase%3DPending"))
            )
            #expect(pending["items"]?.array?.isEmpty == true)
            let elsewhere = try #require(
                JSONValue.parse(try await cluster.client.get(path: "/api/v1/pods?fieldSelector=spec.nodeName%3Dtvpc")))
            #expect(elsewhere["items"]?.array?.isEmpty == true)
            #expect(await cluster.simulator.jobs().first?.podsCreated == 2)
        }
    }

    @Test(
        "a scheduler binds pods that await binding; binding twice or to an unknown node is refused; node patches merge")
    func bindingsAndNodes() async throws {
        let lifecycle = ScriptedLifecycle(
            placement: { _ in .awaitBinding }, run: { _, _ in PodRun(startDelay: .zero, duration: .milliseconds(100)) })
        try await withCluster(lifecycle: lifecycle) { cluster in
            _ = try await Self.create(cluster, Self.job("bound"))
            let pod = try #require(await cluster.simulator.pods().first)
            #expect(pod.nodeName == nil)
            let binding = JSONValue.object([
                "apiVersion": "v1", "kind": "Binding", "target": ["kind": "Node", "name": "rpi"],
            ]).serialized
            _ = try await cluster.client.post(path: "/api/v1/namespaces/ml/pods/\(pod.name)/binding", body: binding)
            #expect(
                await eventually(within: .seconds(15)) {
                    (try? await Self.jobCondition(cluster, "bound")) == "Complete"
                })
            #expect(await cluster.simulator.pods().first?.nodeName == "rpi")
            do {
                _ = try await cluster.client.post(path: "/api/v1/namespaces/ml/pods/\(pod.name)/binding", body: binding)
                Issue.record("a second binding was accepted")
            } catch let error as KubernetesRequestError {
                #expect(error.status?.code == 409)
            }
            _ = try await Self.create(cluster, Self.job("nowhere"))
            let second = try #require(await cluster.simulator.pods().first { $0.job?.name == "nowhere" })
            await #expect(throws: ClusterSimulator.ControlError.self) {
                try await cluster.simulator.bindPod(second.name, namespace: "ml", node: "mars")
            }
            #expect(
                await cluster.client.patchNodeAnnotations(
                    node: "tvpc", annotations: ["energy.thesis.io/current-watts": "48.50"]) == .ok)
            #expect(
                await cluster.simulator.nodes().first { $0.name == "tvpc" }?.annotations[
                    "energy.thesis.io/current-watts"] == "48.50")
            let nodes = try #require(JSONValue.parse(try await cluster.client.get(path: "/api/v1/nodes")))
            #expect(nodes["items"]?.array?.count == 3)
            #expect(nodes["items"]?[2]?["metadata"]?["labels"]?["kubernetes.io/arch"] == "arm")
        }
    }

    @Test("faults: 429 with Retry-After, 403 in the API server's words, RBAC permissions, 401 without the token")
    func faults() async throws {
        let lifecycle = ScriptedLifecycle.fixed(node: "tvpc", duration: nil)
        try await withCluster(
            lifecycle: lifecycle, token: "t0ken", permissions: ["jobs": ["get", "create"], "pods": ["list"]]
        ) { cluster in
            await cluster.simulator.throttle(
                next: 1, matching: RequestMatch(verb: "create", resource: "jobs"), retryAfter: "2")
            do {
                _ = try await Self.create(cluster, Self.job("x"))
                Issue.record("not throttled")
            } catch let error as KubernetesRequestError {
                guard case .throttled(_, let seconds) = error.failure else { throw error }
                #expect(seconds == 2)
            }
            _ = try await Self.create(cluster, Self.job("x"))
            do {
                _ = try await cluster.client.delete(
                    path: "/apis/batch/v1/namespaces/ml/jobs/x", propagationPolicy: .background)
                Issue.record("delete was allowed")
            } catch let error as KubernetesRequestError {
                #expect(error.isForbidden)
                #expect(
                    error.description.contains(
                        #"jobs.batch "x" is forbidden: User "system:serviceaccount:default:workflow-runner" cannot delete resource "jobs" in API group "batch" in the namespace "ml""#
                    ), "\(error)")
            }
            await cluster.simulator.forbid("list", "pods")
            await #expect(throws: KubernetesRequestError.self) {
                _ = try await cluster.client.get(path: "/api/v1/namespaces/ml/pods")
            }
            await cluster.simulator.allow("list", "pods")
            _ = try await cluster.client.get(path: "/api/v1/namespaces/ml/pods")
            await cluster.simulator.fail(next: 1, matching: RequestMatch(verb: "list"), status: 503)
            do {
                _ = try await cluster.client.get(path: "/api/v1/namespaces/ml/pods")
                Issue.record("no 503")
            } catch let error as KubernetesRequestError {
                #expect(error.status?.code == 503)
            }
            let anonymous = KubernetesClient(
                connection: KubernetesConnection(server: cluster.url), http: cluster.http, logger: .init(label: "t"))
            do {
                _ = try await anonymous.get(path: "/api/v1/nodes")
                Issue.record("no token accepted")
            } catch let error as KubernetesRequestError {
                #expect(error.status?.code == 401)
            }
        }
    }

    @Test(
        "bad requests get a Status and the right code",
        arguments: [
            ("POST", "/apis/batch/v1/namespaces/ml/jobs", "{not json", 400),
            ("POST", "/apis/batch/v1/namespaces/ml/jobs", #"{"metadata":{"name":"Bad_Name"},"spec":{}}"#, 422),
            (
                "POST", "/apis/batch/v1/namespaces/ml/jobs",
                #"{"metadata":{"name":"ok"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[]}}}}"#,
                422
            ),
            (
                "POST", "/apis/batch/v1/namespaces/ml/jobs",
                #"{"metadata":{"name":"ok"},"spec":{"template":{"spec":{"restartPolicy":"Always","containers":[{"name":"a","image":"b"}]}}}}"#,
                422
            ),
            ("GET", "/apis/batch/v1/namespaces/ml/jobs/none", "", 404),
            ("GET", "/api/v1/namespaces/ml/pods?labelSelector=a%20in%20(b", "", 400),
            ("GET", "/api/v2/things", "", 404),
            ("PUT", "/api/v1/nodes/tvpc", "{}", 405),
        ]
    )
    func badRequests(method: String, path: String, body: String, code: Int) async throws {
        try await withCluster(lifecycle: ScriptedLifecycle.fixed(node: "tvpc", duration: nil)) { cluster in
            let response = try await cluster.http.perform(
                .init(
                    url: cluster.url + path, method: method, headers: ["Content-Type: application/json"],
                    body: body.isEmpty ? nil : Array(body.utf8), timeoutMilliseconds: 60_000))
            #expect(
                response.status == code,
                "\(method) \(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
            let status = JSONValue.parse(response.body)
            #expect(status?["kind"] == "Status" && status?["message"]?.string?.isEmpty == false)
        }
    }
}

import ClusterSimulator
import Foundation
import JSON
import Kubernetes
import Scoring
import Synchronization
import TestSupport
import Testing

@testable import Workflow

/// Energy as a known function: each node draws constant watts, so a window's joules are
/// watts x seconds. Records every window asked for.
final class ConstantPower: EnergySource, Sendable {
    let watts: [String: Double]
    let windows = Mutex<[(node: String, from: Int64, to: Int64)]>([])

    init(_ watts: [String: Double]) { self.watts = watts }

    func energy(node: String, fromMilliseconds from: Int64, toMilliseconds to: Int64) async throws -> EnergyFigures {
        windows.withLock { $0.append((node, from, to)) }
        let power = watts[node] ?? 1
        let seconds = Double(to - from) / 1000
        return EnergyFigures(
            joules: power * seconds, averageWatts: power, coveragePercent: 100,
            samples: Int(clamping: (to - from) / 1000))
    }
}

/// The runner in-process against the cluster simulator: phases in order, rows from the pod
/// that succeeded, and every way a run goes wrong (a failing Job, an eviction, dropped and
/// expired watches, throttling, RBAC, the timeout, Ctrl-C), each leaving no Job of its run.
@Suite("Workflow runner", .serialized)
struct WorkflowRunnerTests {
    static let workflow = try! WorkflowDefinition(
        yaml: """
            name: wf
            namespace: ml
            phases:
              - {name: preprocessing, profile: sequential, image: "busybox:1.36", command: [sh, -c, "true"]}
              - {name: train, profile: training, image: "busybox:1.36"}
              - {name: inference, profile: inference, image: "busybox:1.36"}
            """, file: "wf.yaml")

    /// Where each profile runs, as a scheduler might place them (the thesis's result at w=0).
    static let placement: [String: String] = ["sequential": "rpi", "training": "tvpc", "inference": "tvpc"]

    static func lifecycle(
        duration: Duration? = .milliseconds(1100),
        outcome: @escaping @Sendable (PodInfo) -> PodOutcome = { _ in .succeed }
    )
        -> ScriptedLifecycle
    {
        ScriptedLifecycle(
            placement: { pod in
                .node(pod.requiredNodeNames?.first ?? placement[pod.labels["workload-profile"] ?? ""] ?? "tvpc")
            },
            run: { pod, _ in PodRun(startDelay: .milliseconds(50), duration: duration, outcome: outcome(pod)) })
    }

    final class Harness: Sendable {
        let runner: WorkflowRunner
        let energy: ConstantPower
        let progress: ProgressLog

        init(runner: WorkflowRunner, energy: ConstantPower, progress: ProgressLog) {
            self.runner = runner
            self.energy = energy
            self.progress = progress
        }

        var lines: [String] { progress.lines }
    }

    final class ProgressLog: Sendable {
        let events = Mutex<[WorkflowProgress]>([])
        func append(_ event: WorkflowProgress) { events.withLock { $0.append(event) } }
        var lines: [String] { events.withLock { $0.map(\.description) } }
    }

    static func harness(
        _ cluster: RunningCluster, workflow: WorkflowDefinition = workflow, timeout: Int64? = nil,
        knowledgeBase: KnowledgeBase? = nil
    ) -> Harness {
        let log = ProgressLog()
        let cluster = KubernetesWorkflowCluster(
            client: cluster.client,
            retry: RetryPolicy(
                backoffBaseMilliseconds: 50, backoffMaxMilliseconds: 400, retryAfterMaxMilliseconds: 5000),
            patienceMilliseconds: 20_000, onRetry: { line in log.append(.retrying(line)) })
        let energy = ConstantPower(["rpi": 2.5, "tvpc": 180, "dgoh-wyze": 10])
        let runner = WorkflowRunner(
            configuration: .init(
                workflow: workflow, phaseTimeoutMilliseconds: timeout, settleMilliseconds: 0,
                knowledgeBase: knowledgeBase),
            cluster: cluster, energy: energy, progress: { event in log.append(event) })
        return Harness(runner: runner, energy: energy, progress: log)
    }

    static func deletes(_ cluster: RunningCluster) async -> [RecordedRequest] {
        await cluster.simulator.requests().filter { $0.method == "DELETE" }
    }

    @Test("three phases in order: one row each, from the pod's node and container times; Jobs kept for their logs")
    func happyPath() async throws {
        try await withCluster(lifecycle: Self.lifecycle()) { cluster in
            let harness = Self.harness(cluster)
            let written = Mutex<[ResultRow]>([])
            let rows = try await harness.runner.run(scheduler: .energy, weight: 0) { row in
                written.withLock { $0.append(row) }
            }
            #expect(rows.map(\.phase) == ["preprocessing", "train", "inference"])
            #expect(written.withLock { $0 } == rows)
            #expect(rows.map(\.node) == ["rpi", "tvpc", "tvpc"])
            #expect(Set(rows.map(\.timestamp)).count == 1)
            #expect(
                rows.allSatisfy {
                    $0.scheduler == .energy && $0.weight == 0 && $0.coveragePercent == 100 && $0.idleJoules == nil
                })
            #expect(rows.map(\.profile) == ["sequential", "training", "inference"])
            // The windows are the pods' container times, as the API wrote them.
            let pods = await cluster.simulator.pods()
            let windows = harness.energy.windows.withLock { $0 }
            #expect(windows.count == 3)
            for (row, window) in zip(rows, windows) {
                let pod = try #require(pods.first { $0.labels[WorkflowLabels.phase] == row.phase })
                #expect(window.node == pod.nodeName)
                #expect(window.from == (pod.startedMilliseconds ?? 0) / 1000 * 1000)
                #expect(window.to == (pod.finishedMilliseconds ?? 0) / 1000 * 1000)
                #expect(row.durationSeconds == Double(window.to - window.from) / 1000)
                #expect(abs(row.joules - (harness.energy.watts[row.node] ?? 0) * row.durationSeconds) < 1e-9)
            }
            // Created one after the other, each only once the previous one was complete.
            // One Job per phase: a create repeated because its answer was lost (a loaded
            // machine) finds the run's own Job with 409 and creates nothing.
            let creates = await cluster.simulator.requests().filter { $0.verb == "create" && $0.resource == "jobs" }
            #expect(creates.filter { $0.status == 201 }.count == 3, "\(creates.map(\.status))")
            #expect(creates.allSatisfy { $0.status == 201 || $0.status == 409 }, "\(creates.map(\.status))")
            let jobs = await cluster.simulator.jobs()
            #expect(jobs.count == 3 && jobs.allSatisfy { $0.condition?.type == "Complete" })
            #expect(zip(jobs, jobs.dropFirst()).allSatisfy { $0.completionMilliseconds ?? 0 <= $1.createdMilliseconds })
            #expect(pods.allSatisfy { $0.schedulerName == "my-energy-scheduler" })
            #expect(await Self.deletes(cluster).isEmpty)
            #expect(harness.lines.contains { $0.contains("train: pod wf-train-") && $0.contains("on tvpc") })
        }
    }

    @Test(
        "the default scheduler's pods name no scheduler; the knowledge base gives IdleJoules",
        .enabled(
            if: TestPaths.thesisTestsEnabled, "../shared/thesis is absent: the thesis knowledge base is read in place")
    )
    func standardWithIdle() async throws {
        let knowledge = try KnowledgeBase(contentsOfFile: try TestPaths.thesisFile("knowledge-base.yaml"))
        try await withCluster(lifecycle: Self.lifecycle()) { cluster in
            let rows = try await Self.harness(cluster, knowledgeBase: knowledge).runner.run(
                scheduler: .standard, weight: 0.5)
            #expect(await cluster.simulator.pods().allSatisfy { $0.schedulerName == "default-scheduler" })
            #expect(rows.allSatisfy { $0.scheduler == .standard && $0.weight == 0.5 })
            // rpi idles at 2.32 W (rpi-cpu, sequential): 2.5 W drawn leaves 0.18 W per second.
            let pre = rows[0]
            #expect(abs((pre.idleJoules ?? 0) - (2.5 - 2.32) * pre.durationSeconds) < 1e-9)
            #expect(abs((rows[1].idleJoules ?? 0) - (180 - 50.06) * rows[1].durationSeconds) < 1e-9)
        }
    }

    @Test(
        "a Job that fails ends the run with one line naming pod, node and exit code; the run's Jobs are deleted, no others"
    )
    func failingJob() async throws {
        let lifecycle = Self.lifecycle(outcome: {
            $0.labels[WorkflowLabels.phase] == "train" ? .fail(exitCode: 2) : .succeed
        })
        try await withCluster(lifecycle: lifecycle) { cluster in
            // Somebody else's Job in the same namespace must survive the clean-up.
            let foreign = JSONValue.object([
                "metadata": ["name": "someone-elses"],
                "spec": [
                    "template": ["spec": ["restartPolicy": "Never", "containers": [["name": "c", "image": "x"]]]]
                ],
            ]).serialized
            _ = try await cluster.client.post(path: "/apis/batch/v1/namespaces/ml/jobs", body: foreign)
            let harness = Self.harness(cluster)
            let written = Mutex<[ResultRow]>([])
            do {
                _ = try await harness.runner.run(scheduler: .energy, weight: 1) { row in
                    written.withLock { $0.append(row) }
                }
                Issue.record("the run succeeded")
            } catch {
                let line = "\(error)"
                #expect(
                    line.contains("train: Job wf-train-") && line.contains("failed: BackoffLimitExceeded"), "\(line)")
                #expect(line.contains("on tvpc: exited with code 2"), "\(line)")
                #expect(!line.contains("\n"))
            }
            #expect(written.withLock { $0.map(\.phase) } == ["preprocessing"])
            let deletes = await Self.deletes(cluster)
            #expect(deletes.count == 2)
            #expect(
                deletes.allSatisfy {
                    $0.name?.hasPrefix("wf-") == true && $0.body.contains(#""propagationPolicy":"Background""#)
                })
            #expect(await cluster.simulator.jobs().map(\.name) == ["someone-elses"])
            #expect(harness.lines.last?.hasPrefix("deleted Jobs wf-train-") == true, "\(harness.lines)")
        }
    }

    @Test("an evicted pod is replaced; the row is the replacement's, on its node, over its window")
    func eviction() async throws {
        try await withCluster(lifecycle: Self.lifecycle(duration: nil)) { cluster in
            let harness = Self.harness(
                cluster,
                workflow: try WorkflowDefinition(
                    yaml: "name: ev\nnamespace: ml\nphases: [{name: train, profile: training, image: x}]",
                    file: "ev.yaml"))
            let running = Task { try await harness.runner.run(scheduler: .energy, weight: 0.5) }
            #expect(await eventually(within: .seconds(10)) { await cluster.simulator.pods().first?.phase == .running })
            let first = try #require(await cluster.simulator.pods().first)
            try await Task.sleep(for: .milliseconds(1100))
            try await cluster.simulator.evictPod(first.name, namespace: "ml")
            #expect(
                await eventually(within: .seconds(10)) {
                    let pods = await cluster.simulator.pods()
                    return pods.count == 2 && pods.last?.phase == .running
                })
            let second = try #require(await cluster.simulator.pods().last)
            try await Task.sleep(for: .milliseconds(1100))
            try await cluster.simulator.finishPod(second.name, namespace: "ml")
            let rows = try await withTimeout(.seconds(20), "the run") { try await running.value }
            let finished = try #require(await cluster.simulator.pods().last)
            #expect(rows.count == 1)
            #expect(
                rows[0].durationSeconds
                    == Double(
                        ((finished.finishedMilliseconds ?? 0) / 1000) - ((finished.startedMilliseconds ?? 0) / 1000)))
            #expect(
                harness.energy.windows.withLock { $0.first?.from } == (finished.startedMilliseconds ?? 0) / 1000 * 1000)
            #expect(
                harness.lines.contains {
                    $0.contains("\(first.name) on tvpc: evicted (The node was low on resource: memory.)")
                }, "\(harness.lines)")
        }
    }

    @Test(
        "a watch that drops is resumed from its resource version; a 410 Gone is listed again; a pod that finishes while the watches are refused is seen; the run completes"
    )
    func droppedAndExpiredWatches() async throws {
        try await withCluster(lifecycle: Self.lifecycle(duration: nil)) { cluster in
            let harness = Self.harness(
                cluster,
                workflow: try WorkflowDefinition(
                    yaml:
                        "name: dw\nnamespace: ml\nphases: [{name: a, profile: training, image: x}, {name: b, profile: training, image: x}]",
                    file: "dw.yaml"))
            let running = Task { try await harness.runner.run(scheduler: .energy, weight: 0.5) }
            let watches = RequestMatch(verb: "watch")
            for (index, fault) in ["drop", "expire"].enumerated() {
                #expect(
                    await eventually(within: .seconds(10)) {
                        let pods = await cluster.simulator.pods()
                        return pods.count == index + 1 && pods.last?.phase == .running
                    })
                #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() >= 2 })
                let before = await cluster.simulator.requests().count
                /// The runner's watch requests of `resource` since the fault, answered `status`.
                func watched(_ resource: String, _ status: Int) async -> Int {
                    await cluster.simulator.requests().dropFirst(before).filter {
                        $0.verb == "watch" && $0.resource == resource && $0.status == status
                    }.count
                }
                // The gap: every watch the runner opens again after the fault is refused (503)
                // until the outage ends, however soon it tries.
                await cluster.simulator.startOutage(matching: watches)
                if fault == "drop" {
                    await cluster.simulator.dropWatches()
                } else {
                    await cluster.simulator.expireWatches()
                }
                // Both watches (the Job's and its pods') were refused, and tried again.
                let refused = await eventually(within: .seconds(15)) {
                    let (jobs, pods) = (await watched("jobs", 503), await watched("pods", 503))
                    return jobs >= 2 && pods >= 2
                }
                let (jobs, pods) = (await watched("jobs", 503), await watched("pods", 503))
                #expect(refused, "\(fault): watches refused: jobs \(jobs), pods \(pods)")
                // While the runner's watches are down, the pod finishes: it must still learn of it.
                let pod = try #require(await cluster.simulator.pods().last)
                try await cluster.simulator.finishPod(pod.name, namespace: "ml")
                #expect(await cluster.simulator.openWatches() == 0, "\(fault): a watch was open when the pod finished")
                await cluster.simulator.endOutage(matching: watches)
                // The runner recovers: its Job watch is open again.
                #expect(
                    await eventually(within: .seconds(10)) { await watched("jobs", 200) >= 1 },
                    "\(fault): the Job watch was not opened again")
            }
            let rows = try await withTimeout(.seconds(30), "the run") { try await running.value }
            #expect(rows.map(\.phase) == ["a", "b"])
            let requests = await cluster.simulator.requests()
            let jobWatches = requests.filter { $0.verb == "watch" && $0.resource == "jobs" }
            #expect(jobWatches.contains { $0.query["resourceVersion"] != nil })
            // After the 410, phase b's Job was read again with GET (the runner may not list Jobs).
            let jobGets = requests.filter {
                $0.verb == "get" && $0.resource == "jobs" && $0.name?.hasPrefix("dw-b-") == true
            }
            #expect(jobGets.count >= 2, "\(jobGets.count) GETs of b's Job")
            #expect(!requests.contains { $0.verb == "list" && $0.resource == "jobs" })
            // The refusals were waited out as retries, each reported.
            #expect(harness.lines.contains { $0.hasPrefix("retrying: watching Job dw-a-") }, "\(harness.lines)")
            #expect(harness.lines.contains { $0.hasPrefix("retrying: watching Job dw-b-") }, "\(harness.lines)")
        }
    }

    @Test("429 with Retry-After: the create waits as long as asked and the run goes on")
    func throttled() async throws {
        try await withCluster(lifecycle: Self.lifecycle()) { cluster in
            await cluster.simulator.throttle(
                next: 2, matching: RequestMatch(verb: "create", resource: "jobs"), retryAfter: "1")
            let harness = Self.harness(
                cluster,
                workflow: try WorkflowDefinition(
                    yaml: "name: th\nnamespace: ml\nphases: [{name: a, profile: training, image: x}]", file: "th.yaml"))
            let started = ContinuousClock.now
            let rows = try await harness.runner.run(scheduler: .energy, weight: 0.5)
            #expect(rows.count == 1)
            let creates = await cluster.simulator.requests().filter { $0.verb == "create" }
            #expect(creates.map(\.status) == [429, 429, 201])
            #expect(ContinuousClock.now - started >= .seconds(2))
        }
    }

    @Test("a create repeated after its answer was lost finds the run's own Job; another run's Job of that name is refused")
    func repeatedCreate() async throws {
        try await withCluster(lifecycle: Self.lifecycle(duration: nil)) { cluster in
            let api = KubernetesWorkflowCluster(client: cluster.client)
            let phase = Self.workflow.phases[0]
            let run = WorkflowRun(scheduler: .energy, weight: 0.5, startedMilliseconds: 0, id: "rep01")
            let manifest = JobManifest.phase(
                phase, of: Self.workflow, run: run, namespace: "ml", image: try #require(phase.image), pinnedNode: nil,
                timeoutMilliseconds: 60_000)
            let name = run.jobName(workflow: Self.workflow, phase: phase)
            let first = try await api.createJob(manifest, name: name, namespace: "ml")
            let second = try await api.createJob(manifest, name: name, namespace: "ml")
            #expect(first["metadata"]?["uid"] == second["metadata"]?["uid"])
            #expect(await cluster.simulator.jobs().count == 1)
            let other = WorkflowRun(scheduler: .energy, weight: 0.5, startedMilliseconds: 0, id: "rep02")
            var foreign = JobManifest.phase(
                phase, of: Self.workflow, run: other, namespace: "ml", image: try #require(phase.image), pinnedNode: nil,
                timeoutMilliseconds: 60_000)
            if case .object(var object) = foreign, case .object(var metadata)? = object["metadata"] {
                metadata["name"] = .string(name)
                object["metadata"] = .object(metadata)
                foreign = .object(object)
            }
            await #expect(throws: WorkflowError("creating Job \(name): a Job of that name exists and is not this run's")) {
                _ = try await api.createJob(foreign, name: name, namespace: "ml")
            }
            try await api.deleteJob(name: name, namespace: "ml")
            try await api.deleteJob(name: name, namespace: "ml")  // gone already: fine
        }
    }

    @Test("403: one line with the RBAC file to apply; nothing is created")
    func forbidden() async throws {
        try await withCluster(lifecycle: Self.lifecycle()) { cluster in
            await cluster.simulator.forbid("create", "jobs")
            do {
                _ = try await Self.harness(cluster).runner.run(scheduler: .energy, weight: 0)
                Issue.record("no 403")
            } catch {
                let line = "\(error)"
                #expect(line.contains("creating Job wf-preprocessing-"), "\(line)")
                #expect(line.contains("HTTP 403 Forbidden: jobs.batch is forbidden"), "\(line)")
                #expect(line.contains("k8s/workflow/rbac.yaml") && line.contains("namespace ml"), "\(line)")
            }
            #expect(await cluster.simulator.jobs().isEmpty)
        }
    }

    @Test("exactly the permissions of k8s/workflow/rbac.yaml are enough; without pods list the run fails with the hint")
    func rbacFile() async throws {
        let path = TestPaths.packageRoot.appendingPathComponent("k8s/workflow/rbac.yaml").path
        let permissions = try rolePermissions(path)
        #expect(permissions == ["jobs": ["create", "get", "watch", "delete"], "pods": ["get", "list", "watch"]])
        try await withCluster(
            lifecycle: Self.lifecycle(outcome: {
                $0.labels[WorkflowLabels.phase] == "inference" ? .fail(exitCode: 1) : .succeed
            }), permissions: permissions
        ) { cluster in
            do {
                _ = try await Self.harness(cluster).runner.run(scheduler: .energy, weight: 0)
            } catch {
                #expect("\(error)".contains("inference: Job"), "\(error)")
            }
            // It ran two phases and cleaned up a failed one without a single refused request.
            let requests = await cluster.simulator.requests()
            #expect(
                !requests.contains { $0.status == 403 },
                "\(requests.filter { $0.status == 403 }.map { "\($0.verb) \($0.resource)" })")
            #expect(await cluster.simulator.jobs().isEmpty)
        }
        var fewer = permissions
        fewer["pods"] = ["get", "watch"]
        try await withCluster(lifecycle: Self.lifecycle(), permissions: fewer) { cluster in
            do {
                _ = try await Self.harness(cluster).runner.run(scheduler: .energy, weight: 0)
                Issue.record("ran without pods list")
            } catch {
                #expect(
                    "\(error)".contains("cannot list resource \"pods\"") && "\(error)".contains("rbac.yaml"), "\(error)"
                )
            }
            #expect(await cluster.simulator.jobs().isEmpty)
        }
    }

    @Test("the phase timeout: one line with the pod's state, the Job deleted")
    func timeout() async throws {
        let lifecycle = ScriptedLifecycle(
            placement: { _ in .unschedulable(message: "0/3 nodes are available: 3 Insufficient memory.") },
            run: { _, _ in PodRun(duration: nil) })
        try await withCluster(lifecycle: lifecycle) { cluster in
            do {
                _ = try await Self.harness(cluster, timeout: 1500).runner.run(scheduler: .energy, weight: 0)
                Issue.record("no timeout")
            } catch {
                let line = "\(error)"
                #expect(line.contains("preprocessing: not finished within 2s"), "\(line)")
                #expect(line.contains("unschedulable (0/3 nodes are available: 3 Insufficient memory.)"), "\(line)")
                #expect(line.contains("Job wf-preprocessing-") && line.contains("deleted"), "\(line)")
            }
            #expect(await cluster.simulator.jobs().isEmpty)
            #expect(await cluster.simulator.pods().isEmpty)
        }
    }

    @Test("cancellation (Ctrl-C) deletes the run's Jobs, those of finished phases too, and nothing else")
    func cancellation() async throws {
        let lifecycle = ScriptedLifecycle(
            placement: { _ in .node("tvpc") },
            run: { pod, _ in
                PodRun(
                    duration: pod.labels[WorkflowLabels.phase] == "preprocessing" ? .milliseconds(1100) : .seconds(30))
            })
        try await withCluster(lifecycle: lifecycle) { cluster in
            let harness = Self.harness(cluster)
            let running = Task { try await harness.runner.run(scheduler: .energy, weight: 0) }
            #expect(
                await eventually(within: .seconds(10)) {
                    await cluster.simulator.pods().contains {
                        $0.labels[WorkflowLabels.phase] == "train" && $0.phase == .running
                    }
                })
            running.cancel()
            await #expect(throws: CancellationError.self) {
                _ = try await withTimeout(.seconds(15), "the clean-up") { try await running.value }
            }
            #expect(await cluster.simulator.jobs().isEmpty)
            #expect(await cluster.simulator.pods().isEmpty)
            let deleted = await Self.deletes(cluster).compactMap(\.name)
            #expect(deleted.count == 2 && deleted.allSatisfy { $0.hasPrefix("wf-") }, "\(deleted)")
        }
    }

    @Test(
        "a phase whose image depends on the node: the probe is placed, deleted, and the phase pinned with that node's image"
    )
    func variantImages() async throws {
        let workflow = try WorkflowDefinition(
            yaml: """
                name: va
                namespace: ml
                nodes: {tvpc: [gpu, amd64], rpi: [armv7]}
                phases:
                  - name: train
                    profile: training
                    images: {gpu: {image: "train:cuda", resources: {limits: {nvidia.com/gpu: 1}}}, armv7: "train:armv7"}
                """, file: "va.yaml")
        try await withCluster(lifecycle: Self.lifecycle()) { cluster in
            let harness = Self.harness(cluster, workflow: workflow)
            let rows = try await harness.runner.run(scheduler: .energy, weight: 1)
            #expect(rows.first?.node == "tvpc")
            let pods = await cluster.simulator.pods()
            let probe = try #require(pods.isEmpty ? nil : Optional(pods))
            _ = probe
            let phasePod = try #require(pods.first { $0.labels[WorkflowLabels.probe] == nil })
            #expect(phasePod.info.images == ["train:cuda"])
            #expect(phasePod.info.requiredNodeNames == ["tvpc"])
            let creates = await cluster.simulator.requests().filter { $0.verb == "create" }.compactMap {
                JSONValue.parse(Array($0.body.utf8))
            }
            #expect(
                creates.map { $0["metadata"]?["name"]?.string ?? "" }.map { $0.hasSuffix("-probe") } == [true, false])
            #expect(
                creates.first?["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"]?.string
                    == WorkflowDefinition.defaultProbeImage)
            let deletes = await Self.deletes(cluster)
            #expect(deletes.map { $0.name?.hasSuffix("-probe") } == [true])
            #expect(
                harness.lines.contains { $0 == "train: placed on tvpc, image train:cuda (gpu)" }, "\(harness.lines)")
        }
        // A node without an image for the phase: the run stops before the phase starts.
        let nowhere = ScriptedLifecycle(
            placement: { _ in .node("dgoh-wyze") }, run: { _, _ in PodRun(duration: .milliseconds(100)) })
        try await withCluster(lifecycle: nowhere) { cluster in
            do {
                _ = try await Self.harness(cluster, workflow: workflow).runner.run(scheduler: .energy, weight: 1)
                Issue.record("ran without an image")
            } catch {
                #expect(
                    "\(error)".contains("the scheduler chose node dgoh-wyze, which has no image for this phase"),
                    "\(error)")
            }
            #expect(await cluster.simulator.jobs().isEmpty)
        }
    }
}

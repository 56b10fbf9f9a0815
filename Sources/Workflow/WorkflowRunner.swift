import EnergyModel
import Foundation
import JSON
import Scoring

/// Runs a workflow on a cluster: each phase as a Job, one after the other, followed to its
/// end; the node and the container start and finish times from the pod that succeeded; the
/// node's joules over that window from the energy source; one row per phase.
///
/// A phase whose image depends on the node (`images:` per variant) is placed first: a probe
/// Job with the phase's scheduling inputs (labels, weight, resources, scheduler) on the tiny
/// probe image is bound by the scheduler, deleted, and the phase's Job pinned to that node
/// with its variant's image. A pod's image cannot change after scheduling, and the runner's
/// RBAC allows no pod writes, so this is how the scheduler's choice and the right image meet.
///
/// A failure of any kind, the phase timeout, or cancellation (Ctrl-C) deletes every Job this
/// run created, with `propagationPolicy: Background`, and nothing else.
public struct WorkflowRunner: Sendable {
    /// What to run and how.
    public struct Configuration: Sendable {
        /// The workflow.
        public var workflow: WorkflowDefinition
        /// Where the Jobs go.
        public var namespace: String
        /// Overrides every phase's timeout.
        public var phaseTimeoutMilliseconds: Int64?
        /// How long after a phase ends its energy is asked for: the monitor stores a sample
        /// within about an interval, so the window's last one is in by then.
        public var settleMilliseconds: Int64
        /// For `IdleJoules`.
        public var knowledgeBase: KnowledgeBase?
        /// The offline cluster's time scale: a real second stands for this many simulated
        /// ones. Rows carry simulated seconds and joules (real ones times the scale; power is
        /// the same), phase timeouts are simulated time. 1 against a real cluster.
        public var timeScale: Double
        /// Whether the cluster is the offline one (rows marked `Simulated`).
        public var simulated: Bool

        /// Creates a configuration.
        public init(
            workflow: WorkflowDefinition, namespace: String? = nil, phaseTimeoutMilliseconds: Int64? = nil,
            settleMilliseconds: Int64 = 3000, knowledgeBase: KnowledgeBase? = nil, timeScale: Double = 1,
            simulated: Bool = false
        ) {
            self.workflow = workflow
            self.namespace = namespace ?? workflow.namespace
            self.phaseTimeoutMilliseconds = phaseTimeoutMilliseconds
            self.settleMilliseconds = settleMilliseconds
            self.knowledgeBase = knowledgeBase
            self.timeScale = timeScale.isFinite && timeScale >= 1 ? timeScale : 1
            self.simulated = simulated
        }
    }

    /// The configuration.
    public let configuration: Configuration
    private let cluster: any WorkflowCluster
    private let energy: any EnergySource
    private let progress: @Sendable (WorkflowProgress) -> Void

    /// A runner on `cluster`, measuring with `energy`, telling `progress` what happens.
    public init(
        configuration: Configuration, cluster: any WorkflowCluster, energy: any EnergySource,
        progress: @escaping @Sendable (WorkflowProgress) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.cluster = cluster
        self.energy = energy
        self.progress = progress
    }

    private var workflow: WorkflowDefinition { configuration.workflow }
    private var namespace: String { configuration.namespace }

    /// Runs the workflow once; `onRow` receives each phase's row as soon as it is measured
    /// (the command appends it to the output file). Returns the rows.
    public func run(
        scheduler: SchedulerChoice, weight: Double, repetition: Int = 1, of total: Int = 1,
        onRow: @Sendable (ResultRow) throws -> Void = { _ in }
    ) async throws -> [ResultRow] {
        let run = WorkflowRun(scheduler: scheduler, weight: weight, startedMilliseconds: WallClock.nowMilliseconds())
        let ledger = JobLedger()
        progress(.runStarted(run: run.id, scheduler: scheduler, weight: weight, repetition: repetition, of: total))
        do {
            var rows: [ResultRow] = []
            for phase in workflow.phases {
                try Task.checkCancellation()
                let row = try await runPhase(phase, run: run, ledger: ledger)
                try onRow(row)
                progress(.phaseFinished(row))
                rows.append(row)
            }
            progress(
                .runFinished(
                    run: run.id, seconds: rows.reduce(0) { $0 + $1.durationSeconds },
                    joules: rows.reduce(0) { $0 + $1.joules }))
            return rows
        } catch {
            await cleanUp(ledger)
            // Whatever a cancelled wait threw on its way out, the cause is the cancellation.
            if Task.isCancelled { throw CancellationError() }
            if let failure = error as? ResultFile.Failure { throw WorkflowError("--output: \(failure)") }
            throw error
        }
    }

    /// Deletes every Job of the run, outside the caller's (perhaps cancelled) task.
    private func cleanUp(_ ledger: JobLedger) async {
        let names = await ledger.names
        let cluster = self.cluster
        let namespace = self.namespace
        let progress = self.progress
        let deleted = await Task {
            var deleted: [String] = []
            for name in names.reversed() {
                do {
                    try await cluster.deleteJob(name: name, namespace: namespace)
                    deleted.append(name)
                } catch {
                    progress(.cleanupFailed(job: name, reason: "\(error)"))
                }
            }
            return deleted
        }.value
        progress(.cleanedUp(jobs: deleted))
    }

    /// The phase timeout in real milliseconds (the configured one is simulated time).
    private func timeout(of phase: WorkflowDefinition.Phase) -> Int64 {
        let simulated =
            configuration.phaseTimeoutMilliseconds ?? phase.timeoutMilliseconds
            ?? WorkflowDefinition.defaultTimeoutMilliseconds
        return max(1000, Int64(clampingRounding: Double(simulated) / configuration.timeScale, .up))
    }

    private func runPhase(_ phase: WorkflowDefinition.Phase, run: WorkflowRun, ledger: JobLedger) async throws
        -> ResultRow
    {
        let timeout = timeout(of: phase)
        let deadline = ContinuousClock.now + .milliseconds(timeout)
        var pinned: String?
        guard var image = phase.image ?? phase.images.values.first else {
            throw WorkflowError("\(phase.name): no image")
        }
        if phase.hasVariantImages {
            let node = try await place(phase, run: run, ledger: ledger, deadline: deadline, timeout: timeout)
            guard let chosen = phase.image(for: node, variants: workflow.nodeVariants) else {
                let variants =
                    workflow.nodeVariants[node].map { $0.joined(separator: ", ") } ?? "none listed under nodes:"
                throw WorkflowError(
                    "\(phase.name): the scheduler chose node \(node), which has no image for this phase (its variants: \(variants); "
                        + "the phase has images for \(phase.images.keys.sorted().joined(separator: ", "))); give the phase an image: for other nodes"
                )
            }
            image = chosen.image
            pinned = node
            progress(.placed(phase: phase.name, node: node, variant: chosen.variant, image: chosen.image.reference))
        }
        let name = run.jobName(workflow: workflow, phase: phase)
        let manifest = JobManifest.phase(
            phase, of: workflow, run: run, namespace: namespace, image: image, pinnedNode: pinned,
            timeoutMilliseconds: timeout)
        // Recorded before the request: a create whose answer is lost is still cleaned up.
        await ledger.add(name)
        let created = try await cluster.createJob(manifest, name: name, namespace: namespace)
        // The pod's figures count only from a pod this very Job owns: labels can be copied.
        guard let uid = created["metadata"]?["uid"]?.string, !uid.isEmpty else {
            throw WorkflowError("\(phase.name): the API did not answer the creation of Job \(name) with its uid")
        }
        progress(.jobCreated(phase: phase.name, job: name))
        let pod = try await follow(job: name, uid: uid, phase: phase, run: run, deadline: deadline, timeout: timeout)
        let figures = try await measure(pod)
        let others = try await otherPods(pod, namespace: namespace)
        let idleWatts = configuration.knowledgeBase.flatMap {
            EnergyAccount.idleWatts($0, profile: phase.profile, node: pod.node)
        }
        let account = EnergyAccount(figures: figures, seconds: pod.seconds, idleWatts: idleWatts)
        let scale = configuration.timeScale
        var row = ResultRow(
            timestamp: PodRun.timestamp(run.startedMilliseconds), phase: phase.name, weight: run.weight, node: pod.node,
            profile: phase.profile, durationSeconds: pod.seconds * scale, averageWatts: account.averageWatts,
            joules: account.joules * scale,
            scheduler: run.scheduler, coveragePercent: account.coveragePercent,
            idleJoules: account.idleJoules.map { $0 * scale }, simulated: configuration.simulated,
            backfilledJoules: account.backfilledJoules * scale,
            attributedJoules: others.map { max(0, account.joules - $0.joules) * scale })
        row.kwh = account.joules * scale / WindowFootprint.joulesPerKWh
        if let footprint = figures.footprint {
            row.gramsCO2e = footprint.gramsCO2e.map { $0 * scale }
            row.cost = footprint.cost.map { $0 * scale }
            row.currency = footprint.currency
        }
        return row
    }

    /// What the monitor attributed to the other pods on the pod's node over its window, once
    /// it has split the window to its end (up to 30 s more); nil without per-pod energy. A
    /// failure leaves the column empty: the row's other figures stand.
    private func otherPods(_ pod: PodRun, namespace: String) async throws -> OtherPods? {
        guard pod.finishMilliseconds > pod.startMilliseconds else { return nil }
        var latest: OtherPods?
        for attempt in 0..<31 {
            do {
                latest = try await energy.otherPods(
                    node: pod.node, namespace: namespace, pod: pod.name, fromMilliseconds: pod.startMilliseconds,
                    toMilliseconds: pod.finishMilliseconds)
            } catch {
                progress(.retrying("attributed energy of \(pod.name): \(error); the column stays empty"))
                return nil
            }
            guard let current = latest else { return nil }
            if current.attributedUntilMilliseconds >= pod.finishMilliseconds - 1000 || attempt == 30 { return current }
            try await Task.sleep(for: .seconds(1))
        }
        return latest
    }

    // MARK: - Placement probe

    private func place(
        _ phase: WorkflowDefinition.Phase, run: WorkflowRun, ledger: JobLedger, deadline: ContinuousClock.Instant,
        timeout: Int64
    ) async throws -> String {
        let name = JobManifest.probeName(phase, of: workflow, run: run)
        let manifest = JobManifest.probe(
            phase, of: workflow, run: run, namespace: namespace, timeoutMilliseconds: timeout)
        await ledger.add(name)
        _ = try await cluster.createJob(manifest, name: name, namespace: namespace)
        progress(.probing(phase: phase.name, job: name))
        let cluster = self.cluster
        let namespace = self.namespace
        let selector = JobManifest.podSelector(phase, run: run, probe: true)
        let node: String? = try await Self.race(until: deadline) {
            for try await pod in cluster.podUpdates(namespace: namespace, selector: selector) {
                if let node = pod["spec"]?["nodeName"]?.string, !node.isEmpty { return node }
            }
            throw WorkflowError("\(phase.name): the watch of the placement probe ended")
        }
        guard let node else {
            let state = (try? await cluster.pods(namespace: namespace, selector: selector)).flatMap {
                $0.first.map(Self.describe)
            }
            try? await cluster.deleteJob(name: name, namespace: namespace)
            throw WorkflowError(
                "\(phase.name): the placement probe was not scheduled within \(Self.duration(timeout))"
                    + (state.map { " (\($0))" } ?? "") + "; Job \(name) deleted")
        }
        try await cluster.deleteJob(name: name, namespace: namespace)
        await ledger.remove(name)
        return node
    }

    // MARK: - Following a Job

    private func follow(
        job name: String, uid: String, phase: WorkflowDefinition.Phase, run: WorkflowRun,
        deadline: ContinuousClock.Instant, timeout: Int64
    ) async throws -> PodRun {
        let cluster = self.cluster
        let namespace = self.namespace
        let progress = self.progress
        let selector = JobManifest.podSelector(phase, run: run, probe: false)
        let phaseName = phase.name
        let outcome: JobOutcome? = try await Self.race(until: deadline) {
            try await withThrowingTaskGroup(of: JobOutcome?.self) { group in
                group.addTask {
                    for try await job in cluster.jobUpdates(name: name, namespace: namespace) {
                        guard let job else {
                            throw WorkflowError("\(phaseName): Job \(name) was deleted by someone else")
                        }
                        if let outcome = JobOutcome(job: job) { return outcome }
                    }
                    throw WorkflowError("\(phaseName): the watch of Job \(name) ended")
                }
                group.addTask {
                    // Progress only: a pod watch that fails costs the lines, not the run.
                    var states: [String: String] = [:]
                    do {
                        for try await pod in cluster.podUpdates(namespace: namespace, selector: selector) {
                            guard let podName = pod["metadata"]?["name"]?.string else { continue }
                            let state = Self.describe(pod)
                            if states[podName] != state {
                                states[podName] = state
                                progress(.pod(phase: phaseName, pod: podName, state: state))
                            }
                        }
                    } catch {
                        if !(error is CancellationError) {
                            progress(.retrying("pod progress of \(phaseName) stopped: \(error)"))
                        }
                    }
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw WorkflowError("\(phaseName): following Job \(name) ended without an outcome")
            }
        }
        let pods = try await cluster.pods(namespace: namespace, selector: selector).filter {
            Self.isOwned($0, byJobUID: uid)
        }
        switch outcome {
        case nil:
            let states = pods.map(Self.describe)
            try? await cluster.deleteJob(name: name, namespace: namespace)
            throw WorkflowError(
                "\(phase.name): not finished within \(Self.duration(timeout))"
                    + (states.isEmpty ? " (no pod yet)" : " (\(states.joined(separator: "; ")))")
                    + "; Job \(name) deleted")
        case .failed(let reason)?:
            let failed = pods.filter { $0["status"]?["phase"]?.string == "Failed" }.map(Self.describe)
            throw WorkflowError(
                "\(phase.name): Job \(name) failed: \(reason)"
                    + (failed.isEmpty ? "" : "; \(failed.joined(separator: "; "))"))
        case .complete?:
            let now = WallClock.nowMilliseconds()
            let succeeded = pods.filter { $0["status"]?["phase"]?.string == "Succeeded" }.compactMap {
                PodRun(pod: $0, nowMilliseconds: now)
            }
            guard let pod = succeeded.max(by: { $0.finishMilliseconds < $1.finishMilliseconds }) else {
                throw WorkflowError(
                    "\(phase.name): Job \(name) is complete but none of its pods shows a succeeded run with container times"
                )
            }
            return pod
        }
    }

    /// Whether `pod` names the Job of `uid` as its controlling owner (`ownerReferences`), as
    /// the Job controller writes it: a pod that only carries the same labels is someone else's.
    static func isOwned(_ pod: JSONValue, byJobUID uid: String) -> Bool {
        (pod["metadata"]?["ownerReferences"]?.array ?? []).contains { owner in
            owner["kind"]?.string == "Job" && owner["uid"]?.string == uid && owner["controller"]?.bool != false
        }
    }

    /// How a Job ended.
    enum JobOutcome: Sendable {
        case complete
        case failed(String)

        /// From the Job's conditions: `Complete` (all pods done) or `Failed`.
        init?(job: JSONValue) {
            for condition in job["status"]?["conditions"]?.array ?? [] where condition["status"]?.string == "True" {
                switch condition["type"]?.string {
                case "Complete":
                    self = .complete
                    return
                case "Failed":
                    let reason = condition["reason"]?.string ?? "Failed"
                    self = .failed(condition["message"]?.string.map { "\(reason): \($0)" } ?? reason)
                    return
                default:
                    continue
                }
            }
            return nil
        }
    }

    /// `pod x on tvpc: running`, `...: exited with code 1`, `...: evicted (The node was low on
    /// resource: memory.)`, `...: pending (0/3 nodes are available: ...)`.
    static func describe(_ pod: JSONValue) -> String {
        let status = pod["status"]
        let node = pod["spec"]?["nodeName"]?.string
        let name = pod["metadata"]?["name"]?.string ?? "?"
        let prefix = node.map { "\(name) on \($0)" } ?? name
        let phase = status?["phase"]?.string ?? "Unknown"
        if status?["reason"]?.string == "Evicted" {
            return "\(prefix): evicted (\(status?["message"]?.string ?? "no message"))"
        }
        if phase == "Failed", let reason = status?["reason"]?.string {
            // NodeLost and other reasons the node's side gives: more telling than an exit code.
            return "\(prefix): failed, \(reason)" + (status?["message"]?.string.map { " (\($0))" } ?? "")
        }
        let containers = status?["containerStatuses"]?.array ?? []
        if phase == "Failed" || phase == "Succeeded",
            let code = containers.compactMap({ $0["state"]?["terminated"]?["exitCode"]?.integer }).first
        {
            return "\(prefix): exited with code \(code)"
        }
        if phase == "Pending" {
            let unschedulable = (status?["conditions"]?.array ?? []).first {
                $0["type"]?.string == "PodScheduled" && $0["status"]?.string == "False"
            }
            if let unschedulable {
                return
                    "\(prefix): unschedulable (\(unschedulable["message"]?.string ?? unschedulable["reason"]?.string ?? ""))"
            }
            if let waiting = containers.compactMap({ $0["state"]?["waiting"]?["reason"]?.string }).first {
                return "\(prefix): pending (\(waiting))"
            }
            return node == nil ? "\(prefix): pending" : "\(prefix): scheduled"
        }
        return "\(prefix): \(phase.lowercased())"
    }

    static func duration(_ milliseconds: Int64) -> String {
        milliseconds % 60_000 == 0 ? "\(milliseconds / 60_000)m" : String(format: "%.0fs", Double(milliseconds) / 1000)
    }

    /// Runs `body` until it returns or `deadline` passes (then nil).
    static func race<T: Sendable>(
        until deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(until: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return nil }
            return first
        }
    }

    // MARK: - Energy

    /// How long the runner waits for the monitor to close a gap in a window, seconds: a gap
    /// waits for the minute it ended in to be over, and for the next status after it.
    static let pendingGapWaitSeconds = 180

    /// The figures of the pod's node over its window, once the monitor has its last sample;
    /// asked again (up to 5 s more) while the window is short of complete (measured and
    /// backfilled), up to 3 minutes while the monitor is still closing a gap in it from the
    /// plug's own figures (a restart of the monitor during the phase), and up to a minute
    /// while the source fails.
    private func measure(_ pod: PodRun) async throws -> EnergyFigures {
        // Shorter than the API's one-second resolution: there is no window to integrate.
        guard pod.finishMilliseconds > pod.startMilliseconds else {
            return EnergyFigures(joules: 0, averageWatts: nil, coveragePercent: 0, samples: 0)
        }
        let settled = pod.finishMilliseconds + configuration.settleMilliseconds
        let wait = settled - WallClock.nowMilliseconds()
        if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
        var failures = 0
        var extra = 0
        var pending = 0
        while true {
            do {
                let figures = try await energy.energy(
                    node: pod.node, fromMilliseconds: pod.startMilliseconds, toMilliseconds: pod.finishMilliseconds)
                if figures.pendingPercent > 0, pending < Self.pendingGapWaitSeconds {
                    if pending == 0 {
                        progress(
                            .retrying(
                                "energy of \(pod.node): the monitor is closing a gap in the window from the plug's own "
                                    + "figures; asking again"))
                    }
                    pending += 1
                } else {
                    if figures.completePercent >= 99.5 || extra >= 5 { return figures }
                    extra += 1
                }
            } catch {
                failures += 1
                guard failures < 12 else { throw WorkflowError("energy of \(pod.node): \(error)") }
                progress(.retrying("energy of \(pod.node): \(error); again in 5 s"))
                try await Task.sleep(for: .seconds(4))
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// The Jobs a run created and has not deleted, for the clean-up.
actor JobLedger {
    private(set) var names: [String] = []

    func add(_ name: String) {
        if !names.contains(name) { names.append(name) }
    }

    func remove(_ name: String) {
        names.removeAll { $0 == name }
    }
}

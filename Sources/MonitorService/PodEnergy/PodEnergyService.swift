import EnergyModel
import Exporter
import Kubernetes
import Logging
import PodEnergy
import ServiceLifecycle
import Store
import Synchronization

/// Per-pod energy on shared nodes (`kubernetes.podEnergy`): every `metricsInterval` it reads
/// the CPU usage of nodes and pods from `metrics.k8s.io` (metrics-server), and splits each
/// plug node's measured energy over the metrics window among the node's pods (as a watch of
/// the pods places them), the node's own CPU use (`system`) and its unclaimed static power
/// (`idle`), with `PodAttribution`; the node's static power is learned by `StaticPowerFit`
/// from the plug's power against the node's usage.
///
/// A window is attributed once the store holds the plug's samples to its end (three poll
/// intervals later); each part of it within one minute is split separately, so every row of
/// `pod_energy` adds up to the plug's measured energy in that part. Windows the metrics API
/// did not give (an outage, a stale answer, a node without figures) are gaps in the pods'
/// figures too: nothing is guessed. Without metrics-server the service says so once and
/// attributes nothing; nothing else of the monitor notices.
final class PodEnergyService: Service, Sendable {
    /// A window waiting for the store to hold the plug's samples to its end.
    struct PendingWindow: Sendable {
        var node: String
        var fromMilliseconds: Int64
        var toMilliseconds: Int64
        var nodeCores: Double
        var pods: [PodUsage]
    }

    /// A window's figures for the fit, held until the next window shows whether its
    /// neighbours had the same load.
    struct FitCandidate: Sendable {
        var time: Int64
        var cores: Double
        var watts: Double
        /// Whether the window before had the same load.
        var steadyBefore: Bool
    }

    private struct State {
        var candidates: [String: FitCandidate] = [:]
        var lastEnd: [String: Int64] = [:]
        var fits: [String: StaticPowerFit] = [:]
        var loggedStatic: [String: Double] = [:]
        var pending: [PendingWindow] = []
        var missingLogged = false
        var failingSince: String?
        var seeded = false
    }

    private let settings: MonitorConfiguration.PodEnergySettings
    private let nodes: [String]
    private let pollIntervalMilliseconds: Int64
    private let store: EnergyStore
    private let client: KubernetesClient
    private let series: PodEnergyMetrics
    private let logger: Logger
    private let directory = PodDirectory()
    private let state: Mutex<State>
    private let now: @Sendable () -> Int64

    /// How long to wait before asking again when the metrics API is not served.
    static let missingRetryMilliseconds: Int64 = 600_000

    init(
        configuration: MonitorConfiguration, store: EnergyStore, client: KubernetesClient, metrics: MonitorMetrics,
        logger: Logger, now: @escaping @Sendable () -> Int64 = { WallClock.nowMilliseconds() }
    ) {
        settings = configuration.kubernetes.podEnergy
        nodes = configuration.nodes
        pollIntervalMilliseconds = configuration.intervalMilliseconds
        self.store = store
        self.client = client
        self.logger = logger
        self.now = now
        let series = PodEnergyMetrics(nodes: configuration.nodes)
        self.series = series
        metrics.podEnergy = series
        var initial = State()
        for node in configuration.nodes {
            initial.fits[node] = StaticPowerFit(
                windowMilliseconds: settings.staticWindowMilliseconds, startingWatts: settings.startingWatts[node],
                overrideWatts: settings.staticWatts[node])
        }
        state = Mutex(initial)
    }

    func run() async throws {
        logger.info(
            "per-pod energy on",
            metadata: [
                "metricsInterval": "\(settings.metricsIntervalMilliseconds) ms",
                "staticPower": "\(settings.staticPower.rawValue)",
            ])
        publishStatic()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.directory.follow(client: self.client, logger: self.logger) }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        let waitMilliseconds = await self.round()
                        try? await Task.sleep(for: .milliseconds(waitMilliseconds))
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        // What is settled by now is still attributed.
        await attributeSettled(all: true)
    }

    /// One round: read the metrics, queue the new windows, attribute the settled ones.
    /// Returns how long to wait before the next.
    func round() async -> Int64 {
        await seedCounters()
        let wait = await readMetrics()
        await attributeSettled(all: false)
        series.expire(nowMilliseconds: now())
        return wait
    }

    /// Reads node and pod usage and queues a window per plug node whose figures moved on.
    private func readMetrics() async -> Int64 {
        // Nodes, pods, nodes again: the node and pod figures are two requests, and a window
        // can end between them (on a busy machine, or with short windows). The pods' answer
        // lies between the two node answers, so for each node one of them is of the pods'
        // window; a node's figures are paired only with pod figures of the same window.
        let before: [NodeUsage]
        let podUsage: [PodUsageReport]
        let after: [NodeUsage]
        do {
            before = try await client.nodeMetrics()
            podUsage = try await client.podMetrics()
            after = try await client.nodeMetrics()
        } catch {
            return failed(error)
        }
        recovered()
        guard directory.isSynced else { return settings.metricsIntervalMilliseconds }
        var usageOfPod: [String: PodUsageReport] = [:]
        for report in podUsage {
            usageOfPod[PodDirectory.key(namespace: report.namespace, name: report.name)] = report
        }
        let firstByNode = Dictionary(before.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let secondByNode = Dictionary(after.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let current = now()
        for node in nodes {
            let podTimes = directory.pods(on: node).compactMap {
                usageOfPod[PodDirectory.key(namespace: $0.namespace, name: $0.name)]?.timestampMilliseconds
            }
            let candidates = [firstByNode[node], secondByNode[node]].compactMap { $0 }
            guard
                let usage = candidates.first(where: { usage in
                    podTimes.contains { abs($0 - usage.timestampMilliseconds) < usage.windowMilliseconds / 2 }
                }) ?? candidates.last,
                usage.cpuCores.isFinite, usage.cpuCores >= 0, usage.windowMilliseconds > 0
            else { continue }
            let end = usage.timestampMilliseconds
            let (windowStart, overflow) = end.subtractingReportingOverflow(usage.windowMilliseconds)
            guard !overflow else { continue }
            let stale = state.withLock { state -> Bool in
                guard let last = state.lastEnd[node] else { return false }
                return end <= last
            }
            if stale {
                series.recordMetricsError("stale")
                continue
            }
            // Figures stamped ahead of the clock cannot be matched with samples yet.
            guard end <= current + 1000 else { continue }
            let start = state.withLock { max(windowStart, $0.lastEnd[node] ?? windowStart) }
            var pods: [PodUsage] = []
            for pod in directory.pods(on: node) {
                // A pod without a figure for this window (started after it, finished or
                // vanished before the scrape) is left out: it gets no row and no static share,
                // since anything it were given would be a guess.
                guard let report = usageOfPod[PodDirectory.key(namespace: pod.namespace, name: pod.name)],
                    abs(report.timestampMilliseconds - end) < usage.windowMilliseconds / 2,
                    report.cpuCores.isFinite, report.cpuCores >= 0
                else { continue }
                let cores = report.cpuCores
                pods.append(
                    PodUsage(
                        namespace: pod.namespace, name: pod.name, uid: pod.uid, cpuCores: cores,
                        requestCores: pod.cpuRequestCores, running: pod.phase == "Running"))
            }
            state.withLock { state in
                state.lastEnd[node] = end
                state.pending.append(
                    PendingWindow(
                        node: node, fromMilliseconds: start, toMilliseconds: end, nodeCores: usage.cpuCores, pods: pods)
                )
            }
        }
        return settings.metricsIntervalMilliseconds
    }

    /// Attributes the queued windows whose end the store has samples for (all of them on the
    /// way out).
    private func attributeSettled(all: Bool) async {
        let settledUntil = now() - 3 * pollIntervalMilliseconds
        let ready = state.withLock { state -> [PendingWindow] in
            let ready = state.pending.filter { all || $0.toMilliseconds <= settledUntil }
            state.pending.removeAll { all || $0.toMilliseconds <= settledUntil }
            return ready
        }
        for window in ready {
            do {
                try await attribute(window)
            } catch {
                logger.error(
                    "cannot attribute a node's energy to its pods; that window is a gap",
                    metadata: ["node": "\(window.node)", "error": "\(error.summary)"])
            }
        }
    }

    /// Splits one window among the node's pods, part by part within minutes, and records it.
    private func attribute(_ window: PendingWindow) async throws(StoreError) {
        let maxGap = 3 * pollIntervalMilliseconds
        var rows: [PodMinuteRow] = []
        var podJoules: [String: (key: PodEnergyMetrics.PodKey, joules: Double)] = [:]
        var system = 0.0
        var idle = 0.0
        var measured = 0.0
        var covered: Int64 = 0
        var part = window.fromMilliseconds
        let staticWatts = state.withLock { $0.fits[window.node]?.estimate.staticWatts } ?? 0
        while part < window.toMilliseconds {
            let partEnd = min(window.toMilliseconds, Self.nextMinute(after: part))
            let energy = try await store.energy(
                node: window.node, fromMilliseconds: part, toMilliseconds: partEnd, maxGapMilliseconds: maxGap)
            let result = PodAttribution.attribute(
                NodeWindow(
                    node: window.node, fromMilliseconds: part, toMilliseconds: partEnd,
                    measuredJoules: energy.energy.joules, coveredMilliseconds: energy.energy.coveredMilliseconds,
                    staticWatts: staticWatts, nodeCPUCores: window.nodeCores,
                    allocatableCores: settings.nodeCores[window.node] ?? 0, pods: window.pods),
                policy: settings.staticPower)
            measured += result.measuredJoules
            covered += result.coveredMilliseconds
            system += result.systemJoules
            idle += result.idleJoules
            if result.coveredMilliseconds > 0 {
                // A pod without a share (finished, or without figures) gets no row: its rows
                // span only the time it had a share.
                for share in result.pods where share.cpuSeconds > 0 || share.joules > 0 {
                    rows.append(
                        PodMinuteRow(
                            node: window.node, kind: .pod, namespace: share.namespace, pod: share.name, uid: share.uid,
                            fromMilliseconds: part, toMilliseconds: partEnd, cpuSeconds: share.cpuSeconds,
                            dynamicJoules: share.dynamicJoules, staticJoules: share.staticJoules,
                            coveredMilliseconds: result.coveredMilliseconds))
                    let key = PodDirectory.key(namespace: share.namespace, name: share.name)
                    podJoules[
                        key,
                        default: (
                            PodEnergyMetrics.PodKey(namespace: share.namespace, pod: share.name, node: window.node), 0
                        )
                    ].joules += share.joules
                }
                rows.append(
                    PodMinuteRow(
                        node: window.node, kind: .system, fromMilliseconds: part, toMilliseconds: partEnd,
                        cpuSeconds: max(0, window.nodeCores - window.pods.reduce(0) { $0 + ($1.cpuCores ?? 0) })
                            * Double(result.coveredMilliseconds) / 1000,
                        dynamicJoules: result.systemJoules, staticJoules: 0,
                        coveredMilliseconds: result.coveredMilliseconds))
                rows.append(
                    PodMinuteRow(
                        node: window.node, kind: .idle, fromMilliseconds: part, toMilliseconds: partEnd, cpuSeconds: 0,
                        dynamicJoules: 0, staticJoules: result.idleJoules,
                        coveredMilliseconds: result.coveredMilliseconds))
            }
            part = partEnd
        }
        try await store.addPodEnergy(rows)
        let seconds = Double(covered) / 1000
        series.record(
            node: window.node, seconds: seconds, measuredJoules: measured, pods: Array(podJoules.values),
            systemJoules: system,
            idleJoules: idle, atMilliseconds: now())
        // The fit learns from windows the plug covered for the most part.
        let length = window.toMilliseconds - window.fromMilliseconds
        if covered * 2 >= length, seconds > 0 {
            learn(node: window.node, at: window.toMilliseconds, cores: window.nodeCores, watts: measured / seconds)
        }
    }

    /// Whether two windows' node usage counts as the same load for the fit: within 0.05
    /// cores or 5 %.
    static func sameLoad(_ one: Double, _ other: Double) -> Bool {
        abs(one - other) <= max(0.05, 0.05 * max(one, other))
    }

    /// Adds a window to the node's fit, once the next window shows that the load was steady
    /// around it; logs when the static power moved. A window in which the load changed, or
    /// next to one, pairs the CPU figure of one part of the time with the plug's energy of a
    /// slightly different part (the plug is read once a second, the kubelet on its own
    /// schedule), which would pull the slope down and the static power up: such windows are
    /// attributed but not learned from.
    private func learn(node: String, at time: Int64, cores: Double, watts: Double) {
        let (estimate, moved) = state.withLock { state -> (StaticPowerEstimate?, (from: Double?, to: Double)?) in
            guard var fit = state.fits[node] else { return (nil, nil) }
            let previous = state.candidates[node]
            let steadyBefore = previous.map { Self.sameLoad($0.cores, cores) } ?? false
            state.candidates[node] = FitCandidate(time: time, cores: cores, watts: watts, steadyBefore: steadyBefore)
            guard let previous, previous.steadyBefore, steadyBefore else { return (nil, nil) }
            fit.add(timestampMilliseconds: previous.time, cpuCores: previous.cores, watts: previous.watts)
            state.fits[node] = fit
            let estimate = fit.estimate
            guard let watts = estimate.staticWatts else { return (estimate, nil) }
            let logged = state.loggedStatic[node]
            if logged.map({ abs($0 - watts) > max(1, 0.05 * $0) }) ?? true {
                state.loggedStatic[node] = watts
                return (estimate, (logged, watts))
            }
            return (estimate, nil)
        }
        guard let estimate else { return }
        series.recordStatic(node: node, Self.figures(estimate))
        if let moved {
            logger.info(
                "static power of a node",
                metadata: [
                    "node": "\(node)", "watts": "\(Self.rounded(moved.to))",
                    "before": "\(moved.from.map { "\(Self.rounded($0))" } ?? "none")",
                    "source": "\(estimate.source.rawValue)", "samples": "\(estimate.samples)",
                    "wattsPerCore": "\(estimate.wattsPerCore.map { "\(Self.rounded($0))" } ?? "-")",
                ])
        }
    }

    /// The static power of every node as first known (overrides and starting values).
    private func publishStatic() {
        let estimates = state.withLock { state in state.fits.mapValues(\.estimate) }
        for (node, estimate) in estimates { series.recordStatic(node: node, Self.figures(estimate)) }
    }

    /// Starts each pod's counter where the store left it, once.
    private func seedCounters() async {
        guard !state.withLock({ $0.seeded }) else { return }
        do {
            let totals = try await store.podEnergy(fromMilliseconds: 0, toMilliseconds: .max)
            let current = now()
            for total in totals where total.kind == .pod {
                series.seed(
                    PodEnergyMetrics.PodKey(namespace: total.namespace, pod: total.pod, node: total.node),
                    joules: total.joules,
                    atMilliseconds: total.lastMilliseconds > current - series.retentionMilliseconds
                        ? total.lastMilliseconds : current - series.retentionMilliseconds - 1)
            }
            state.withLock { $0.seeded = true }
        } catch {
            logger.warning(
                "cannot read the pods' stored energy; their counters start at 0",
                metadata: ["error": "\(error.summary)"])
            state.withLock { $0.seeded = true }
        }
    }

    /// A failed read of the metrics API: counted, logged once per outage (metrics-server
    /// missing: once at all, with a longer wait).
    private func failed(_ error: KubernetesRequestError) -> Int64 {
        if error.isNotFound {
            series.recordMetricsError("missing")
            let first = state.withLock { state in
                defer { state.missingLogged = true }
                return !state.missingLogged
            }
            if first {
                logger.warning(
                    "metrics.k8s.io is not served (is metrics-server installed?): per-pod energy is off until it is; everything else goes on",
                    metadata: ["error": "\(error)"])
            }
            return Self.missingRetryMilliseconds
        }
        let reason = error.isForbidden ? "forbidden" : (error.status?.code == 503 ? "unavailable" : "other")
        series.recordMetricsError(reason)
        let first = state.withLock { state in
            defer { state.failingSince = reason }
            return state.failingSince == nil
        }
        if first {
            logger.warning(
                "cannot read metrics.k8s.io: the pods' figures have a gap until it answers",
                metadata: ["error": "\(error)"])
        }
        return settings.metricsIntervalMilliseconds
    }

    private func recovered() {
        let (was, missing) = state.withLock { state in
            defer {
                state.failingSince = nil
                state.missingLogged = false
            }
            return (state.failingSince, state.missingLogged)
        }
        if was != nil || missing { logger.info("metrics.k8s.io answers again") }
    }

    static func figures(_ estimate: StaticPowerEstimate) -> PodEnergyMetrics.StaticFigures {
        PodEnergyMetrics.StaticFigures(
            staticWatts: estimate.staticWatts, wattsPerCore: estimate.wattsPerCore, samples: estimate.samples,
            rmsErrorWatts: estimate.rmsErrorWatts, source: estimate.source.rawValue)
    }

    private static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    /// The start of the minute after the one holding `time` (saturating).
    static func nextMinute(after time: Int64) -> Int64 {
        let offset = ((time % 60_000) + 60_000) % 60_000
        let (next, overflow) = (time - offset).addingReportingOverflow(60_000)
        return overflow ? .max : next
    }
}

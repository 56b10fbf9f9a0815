import ClusterSimulator
import CurlClient
import EnergyModel
import Exposition
import Foundation
import JSON
import Kubernetes
import Logging
import TestSupport
import Testing

/// Per-pod energy through the real binary: `energy-monitor run` with `podEnergy: true`, plugs
/// from `energy-monitor simulate`, and the cluster simulator (behind a TLS relay, so that an
/// ordinary kubeconfig reaches it) serving pods bound to the plug nodes, the CPU loads the
/// test sets, and the faults it injects into metrics-server.
@Suite("Per-pod energy end to end", .serialized)
struct PodEnergyServiceTests {
    /// The monitor's service account: with `as:` in its kubeconfig the monitor acts with the
    /// permissions the simulator gives this user, the shipped ClusterRole's rules.
    static let account = "system:serviceaccount:energy-monitor:energy-monitor"
    static let namespace = "pe"

    /// A cluster simulator with the plug nodes `sim-0`, `sim-1` and the plugless `lone`, a
    /// relay in front of it, a client of its own (allowed everything) and the monitor's
    /// kubeconfig.
    struct Cluster {
        let simulator: ClusterSimulator
        let relay: TLSRelay
        let client: KubernetesClient
        let http: CurlMultiClient
        let kubeconfig: String

        func stop() async {
            http.shutdown()
            relay.stop()
            await simulator.stop()
        }

        /// Starts a Job of one pod on `node` (label `run-ms`: how long it runs, else until
        /// deleted) and returns the pod once it runs.
        func startPod(_ job: String, node: String, cpuRequest: String = "500m", runMilliseconds: Int64? = nil)
            async throws -> SimulatedPod
        {
            var labels: [String: JSONValue] = ["node": .string(node)]
            if let runMilliseconds { labels["run-ms"] = .string("\(runMilliseconds)") }
            let body: JSONValue = [
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": ["name": .string(job), "namespace": .string(PodEnergyServiceTests.namespace)],
                "spec": [
                    "template": [
                        "metadata": ["labels": .object(labels)],
                        "spec": [
                            "restartPolicy": "Never",
                            "containers": [
                                [
                                    "name": "load", "image": "busybox",
                                    "resources": ["requests": ["cpu": .string(cpuRequest)]],
                                ]
                            ],
                        ],
                    ]
                ],
            ]
            _ = try await client.post(
                path: "/apis/batch/v1/namespaces/\(PodEnergyServiceTests.namespace)/jobs", body: body.serialized)
            var found: SimulatedPod?
            let started = await eventually(within: .seconds(30)) {
                found = await simulator.pods().first { $0.job?.name == job && $0.phase != .pending }
                return found != nil
            }
            try #require(started, "pod of job \(job) never started")
            return try #require(found)
        }
    }

    /// Starts the cluster; `shippedRBAC`: the monitor acts as its service account with the
    /// rules of `k8s/monitor-rbac.yaml` only.
    static func startCluster(metrics: ResourceMetricsModel?, shippedRBAC: Bool = false) async throws -> Cluster {
        let lifecycle = ScriptedLifecycle(
            placement: { pod in .node(pod.labels["node"] ?? "sim-0") },
            run: { pod, _ in
                PodRun(
                    startDelay: .milliseconds(50),
                    duration: pod.labels["run-ms"].flatMap { Int64($0) }.map { .milliseconds($0) })
            })
        var subjects: [String: [String: Set<String>]] = [:]
        if shippedRBAC {
            subjects[account] = try rolePermissions(
                TestPaths.packageRoot.appendingPathComponent("k8s/monitor-rbac.yaml").path)
        }
        let simulator = ClusterSimulator(
            configuration: .init(
                nodes: ["sim-0", "sim-1", "lone"].map { SimulatedNode(name: $0) }, token: "pe-token",
                subjects: subjects, metrics: metrics),
            lifecycle: lifecycle)
        let port = try await simulator.start()
        let relay = try TLSRelay(backend: port)
        let kubeconfig = relay.certificates.path("kubeconfig")
        let user = shippedRBAC ? "{token: pe-token, as: \"\(account)\"}" : "{token: pe-token}"
        try """
        apiVersion: v1
        kind: Config
        current-context: test
        clusters: [{name: sim, cluster: {server: "\(relay.url)", certificate-authority: ca.crt}}]
        users: [{name: monitor, user: \(user)}]
        contexts: [{name: test, context: {cluster: sim, user: monitor}}]
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let http = CurlMultiClient()
        var logger = Logger(label: "pod-energy-tests")
        logger.logLevel = .critical
        let client = KubernetesClient(
            connection: try simulator.connection(), http: http, logger: logger,
            timeoutMilliseconds: 60_000)
        return Cluster(simulator: simulator, relay: relay, client: client, http: http, kubeconfig: kubeconfig)
    }

    /// The monitor's `kubernetes:` section.
    static func kubernetes(_ cluster: Cluster, metricsInterval: String = "1s") -> String {
        """
        kubernetes:
          annotate: true
          kubeconfig: \(cluster.kubeconfig)
          podEnergy: true
          staticPower: requests
          metricsInterval: \(metricsInterval)
          staticWatts: {sim-0: 1.5}
          nodeCores: {sim-0: 4, sim-1: 4, lone: 4}
        """
    }

    static func metrics(_ service: FaultIntegrationTests.Service) async -> ExpositionReader {
        ExpositionReader(await TestEnvironment.getText(service.base + "/metrics"))
    }

    static func errors(_ metrics: ExpositionReader, _ reason: String) -> Double {
        metrics.value("energy_monitor_pod_metrics_errors_total{reason=\"\(reason)\"}") ?? 0
    }

    /// One figure of a query.
    static func number(_ database: String, _ query: String) async throws -> Double {
        let rows = try await sqliteRows(database, query)
        return rows.first?.first.flatMap { Double($0) } ?? 0
    }

    /// The attributed span of `node` in `pod_minute`: first and last instant, and the
    /// milliseconds attributed (each part has one `idle` row).
    static func span(_ database: String, node: String) async throws -> (first: Int64, last: Int64, covered: Int64) {
        let rows = try await sqliteRows(
            database,
            """
            SELECT min(p.first_ms), max(p.last_ms), sum(p.covered_ms) FROM pod_minute AS p JOIN node ON node.id = p.node_id
            WHERE node.name = '\(node)' AND p.kind = 'idle'
            """)
        guard let row = rows.first, row.count == 3, let first = Int64(row[0]), let last = Int64(row[1]),
            let covered = Int64(row[2])
        else { return (0, 0, 0) }
        return (first, last, covered)
    }

    /// The trapezoidal integral of the stored samples of `node` over `[from, to]` (unix ms),
    /// written here on its own.
    static func measured(_ database: String, node: String, from: Int64, to: Int64) async throws -> Double {
        let points = try await sqliteRows(
            database,
            "SELECT CAST(round(ts * 1000) AS INTEGER), watts FROM power WHERE node = '\(node)' ORDER BY ts"
        ).compactMap { row -> (Int64, Double)? in
            guard row.count == 2, let ms = Int64(row[0]), let watts = Double(row[1]) else { return nil }
            return (ms, watts)
        }
        var joules = 0.0
        for (a, b) in zip(points, points.dropFirst()) where b.0 > a.0 {
            let start = max(a.0, from)
            let end = min(b.0, to)
            guard end > start else { continue }
            func watts(_ t: Int64) -> Double { a.1 + (b.1 - a.1) * Double(t - a.0) / Double(b.0 - a.0) }
            joules += (watts(start) + watts(end)) / 2 * Double(end - start) / 1000
        }
        return joules
    }

    static func nowMilliseconds() -> Int64 { WallClock.nowMilliseconds() }

    /// Lines of the monitor's log that contain `text`.
    static func lines(_ service: FaultIntegrationTests.Service, _ text: String) -> [Substring] {
        service.monitor.output.split(separator: "\n").filter { $0.contains(text) }
    }

    @Test(
        "without metrics-server: one log line naming it, no pod rows, counted as missing; samples, /readyz and annotations go on"
    )
    func noMetricsServer() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("pod-energy-missing")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cluster = try await Self.startCluster(metrics: nil)
        let database = folder + "/energy.db"
        do {
            let pod = try await cluster.startPod("busy", node: "sim-0")
            await cluster.simulator.setCPULoad(pod: pod.name, namespace: pod.namespace, cores: 1)
            let service = try await FaultIntegrationTests.start(
                folder, plugs: 2, database: database, extra: [], configuration: Self.kubernetes(cluster))
            defer { service.stop() }
            var metrics = ExpositionReader("")
            let missing = await eventually(within: .seconds(60), every: .milliseconds(250)) {
                metrics = await Self.metrics(service)
                return Self.errors(metrics, "missing") >= 1
            }
            try #require(missing, "no missing metrics API counted: \(service.monitor.output.suffix(1500))")
            // Everything else works: samples of both plugs, annotations written.
            let working = await eventually(within: .seconds(60), every: .milliseconds(250)) {
                let samples = (try? await Self.number(database, "SELECT count(DISTINCT node) FROM power")) ?? 0
                let patched = await cluster.simulator.requests().contains {
                    $0.method == "PATCH" && $0.resource == "nodes" && $0.status == 200
                }
                return samples == 2 && patched
            }
            #expect(working, "samples and annotations: \(service.monitor.output.suffix(1500))")
            // A few more seconds of polling, in which a second line would show.
            let polled = try await Self.number(database, "SELECT count(*) FROM power")
            _ = await eventually(within: .seconds(30), every: .milliseconds(250)) {
                (try? await Self.number(database, "SELECT count(*) FROM power")).map { $0 >= polled + 10 } ?? false
            }
            #expect(await TestEnvironment.get(service.base + "/readyz")?.status == 200)
            #expect(service.monitor.isRunning)
            #expect(try await Self.number(database, "SELECT count(*) FROM pod_energy") == 0)
            metrics = await Self.metrics(service)
            let exported1 = metrics.has(
                #"energy_monitor_pod_power_watts{namespace="pe",pod="\#(pod.name)",node="sim-0"}"#)
            #expect(!exported1, "a series for a pod without rows")
            #expect(metrics.value(#"energy_monitor_node_attributed_energy_joules_total{node="sim-0"}"#) == 0)
            for reason in ["unavailable", "forbidden", "stale"] { #expect(Self.errors(metrics, reason) == 0) }
            // A request the overloaded machine could not finish in its 5 s before metrics-server
            // was found missing is a transport failure, counted as `other` and logged as timed
            // out; a 404 never is.
            let failures = Self.lines(service, "cannot read metrics.k8s.io")
            if Self.errors(metrics, "other") > 0 {
                #expect(failures.count == 1 && failures.allSatisfy { $0.contains("timed out") }, "\(failures)")
            } else {
                #expect(failures.isEmpty, "\(failures)")
            }
            let named = Self.lines(service, "metrics-server")
            #expect(named.count == 1, "\(named)")
            #expect(Self.lines(service, "metrics.k8s.io is not served").count == 1)
            await cluster.stop()
        } catch {
            await cluster.stop()
            throw error
        }
    }

    @Test(
        "with the shipped RBAC only: an outage and a stale metrics-server are gaps, logged once and counted; no window twice; conservation; a plugless node is ignored"
    )
    func outageAndStaleWindows() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("pod-energy-faults")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cluster = try await Self.startCluster(
            metrics: ResourceMetricsModel(resolutionMilliseconds: 1000, systemCores: ["sim-0": 0.2, "lone": 0.3]),
            shippedRBAC: true)
        let database = folder + "/energy.db"
        do {
            let busy = try await cluster.startPod("busy", node: "sim-0", cpuRequest: "1")
            let light = try await cluster.startPod("light", node: "sim-0", cpuRequest: "250m")
            let other = try await cluster.startPod("other", node: "sim-1")
            let lonely = try await cluster.startPod("lonely", node: "lone")
            for (pod, cores) in [(busy, 1.0), (light, 0.25), (other, 0.5), (lonely, 1.5)] {
                await cluster.simulator.setCPULoad(pod: pod.name, namespace: pod.namespace, cores: cores)
            }
            let service = try await FaultIntegrationTests.start(
                folder, plugs: 2, database: database, extra: [], configuration: Self.kubernetes(cluster))
            defer { service.stop() }
            func podRows(_ pod: SimulatedPod) async throws -> Double {
                try await Self.number(
                    database, "SELECT count(*) FROM pod_energy WHERE kind = 'pod' AND pod = '\(pod.name)'")
            }
            let attributing = await eventually(within: .seconds(90), every: .milliseconds(250)) {
                for pod in [busy, light, other] {
                    if ((try? await podRows(pod)) ?? 0) == 0 { return false }
                }
                return true
            }
            try #require(attributing, "no pod rows: \(service.monitor.output.suffix(2000))")

            // metrics-server answers 503 for at least six reads.
            var metrics = await Self.metrics(service)
            let unavailableBefore = Self.errors(metrics, "unavailable")
            await cluster.simulator.startOutage(matching: .nodeMetrics)
            // Taken after the start: every window before the outage ended before this instant.
            let outageStart = Self.nowMilliseconds()
            let counted = await eventually(within: .seconds(60), every: .milliseconds(100)) {
                Self.errors(await Self.metrics(service), "unavailable") >= unavailableBefore + 6
            }
            // Taken before the end: the first window after it ends after this instant.
            let outageEnd = Self.nowMilliseconds()
            await cluster.simulator.endOutage(matching: .nodeMetrics)
            try #require(counted, "the outage was not counted: \(service.monitor.output.suffix(1500))")
            let samplesInOutage = try await Self.number(
                database,
                "SELECT count(*) FROM power WHERE node = 'sim-0' AND ts > \(outageStart) / 1000.0 AND ts < \(outageEnd) / 1000.0"
            )
            #expect(samplesInOutage > 0, "polling went on during the outage")
            let resumed = await eventually(within: .seconds(60), every: .milliseconds(250)) {
                let first = (try? await Self.span(database, node: "sim-0"))?.last ?? 0
                let second = (try? await Self.span(database, node: "sim-1"))?.last ?? 0
                return first > outageEnd && second > outageEnd
            }
            try #require(resumed, "no rows after the outage: \(service.monitor.output.suffix(1500))")

            // metrics-server keeps serving its last scrape: each node's reads are stale.
            metrics = await Self.metrics(service)
            let staleBefore = Self.errors(metrics, "stale")
            let frozenFrom = Self.nowMilliseconds()
            await cluster.simulator.freezeMetrics(true)
            let stale = await eventually(within: .seconds(60), every: .milliseconds(100)) {
                Self.errors(await Self.metrics(service), "stale") >= staleBefore + 12
            }
            try #require(stale, "stale windows were not counted: \(service.monitor.output.suffix(1500))")
            // Frozen for six reads, longer than a window takes to settle: nothing is pending or
            // being attributed now, so the counters and the rows hold still and must agree.
            var conserved = false
            for _ in 0..<10 where !conserved {
                let before = await Self.metrics(service)
                let rows = try await sqliteRows(
                    database, "SELECT node, sum(joules), count(*) FROM pod_energy GROUP BY node ORDER BY node")
                let after = await Self.metrics(service)
                let nodes = ["sim-0", "sim-1"]
                let key = { (node: String) in "energy_monitor_node_attributed_energy_joules_total{node=\"\(node)\"}" }
                guard nodes.allSatisfy({ before.value(key($0)) == after.value(key($0)) }) else { continue }
                conserved = true
                #expect(rows.map { $0.first ?? "" } == nodes, "rows of nodes: \(rows)")
                for node in nodes {
                    let attributed = try #require(after.value(key(node)))
                    let stored = rows.first { $0.first == node }.flatMap { Double($0[1]) } ?? 0
                    #expect(attributed > 0)
                    #expect(
                        abs(stored - attributed) <= 1e-6 * attributed,
                        "\(node): rows \(stored) J, counter \(attributed) J")
                    let residual = try #require(
                        after.value("energy_monitor_node_attribution_residual_joules{node=\"\(node)\"}"))
                    #expect(residual <= 1e-9 * attributed, "\(node): residual \(residual) J of \(attributed) J")
                }
            }
            #expect(conserved, "the counters moved while frozen")
            let thawed = Self.nowMilliseconds()
            await cluster.simulator.freezeMetrics(false)
            let resumedAgain = await eventually(within: .seconds(60), every: .milliseconds(250)) {
                let first = (try? await Self.span(database, node: "sim-0"))?.last ?? 0
                let second = (try? await Self.span(database, node: "sim-1"))?.last ?? 0
                return first > thawed && second > thawed
            }
            try #require(resumedAgain, "no rows after the freeze: \(service.monitor.output.suffix(1500))")

            // Windows never overlap: no more joules than the plug measured over the span, and
            // the outage and the freeze (less a window each side) are not attributed.
            for node in ["sim-0", "sim-1"] {
                let span = try await Self.span(database, node: node)
                let rows = try await Self.number(
                    database, "SELECT sum(joules) FROM pod_energy WHERE node = '\(node)'")
                let plug = try await Self.measured(database, node: node, from: span.first, to: span.last)
                #expect(rows <= plug * (1 + 1e-4) + 1e-6, "\(node): rows \(rows) J, plug \(plug) J over the span")
                let gaps = (outageEnd - outageStart - 2000) + (thawed - frozenFrom - 2000)
                #expect(
                    span.covered <= span.last - span.first - gaps,
                    "\(node): \(span.covered) ms attributed of \(span.last - span.first) ms with \(gaps) ms of gaps")
            }

            // The plugless node: never in rows, series or the log.
            #expect(try await Self.number(database, "SELECT count(*) FROM pod_energy WHERE node = 'lone'") == 0)
            #expect(try await podRows(lonely) == 0)
            metrics = await Self.metrics(service)
            let exported2 = metrics.has(
                #"energy_monitor_pod_power_watts{namespace="pe",pod="\#(lonely.name)",node="lone"}"#)
            #expect(!exported2, "a series for a pod without rows")
            let naming = Self.lines(service, "lone").filter { !$0.contains("alone") }
            #expect(naming.isEmpty, "\(naming)")

            // Counted and logged once each; the shipped rules were enough; nothing else stopped.
            #expect(Self.errors(metrics, "unavailable") >= unavailableBefore + 6)
            #expect(Self.errors(metrics, "stale") >= staleBefore + 12)
            for reason in ["missing", "forbidden", "other"] { #expect(Self.errors(metrics, reason) == 0, "\(reason)") }
            #expect(Self.lines(service, "cannot read metrics.k8s.io").count == 1)
            #expect(Self.lines(service, "metrics.k8s.io answers again").count == 1)
            #expect(Self.lines(service, "cannot watch pods").isEmpty)
            #expect(await TestEnvironment.get(service.base + "/readyz")?.status == 200)
            #expect(
                await cluster.simulator.requests().contains {
                    $0.method == "PATCH" && $0.resource == "nodes" && $0.status == 200
                })
            #expect(service.monitor.isRunning)
            await cluster.stop()
        } catch {
            await cluster.stop()
            throw error
        }
    }

    @Test(
        "a pod that starts and ends between two scrapes gets no row; a pod deleted while running: no crash, no rows after, its series stay until they expire"
    )
    func podsComeAndGo() async throws {
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("pod-energy-churn")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cluster = try await Self.startCluster(metrics: ResourceMetricsModel(resolutionMilliseconds: 1000))
        let database = folder + "/energy.db"
        do {
            let steady = try await cluster.startPod("steady", node: "sim-0")
            let doomed = try await cluster.startPod("doomed", node: "sim-0")
            await cluster.simulator.setCPULoad(pod: steady.name, namespace: steady.namespace, cores: 1)
            await cluster.simulator.setCPULoad(pod: doomed.name, namespace: doomed.namespace, cores: 0.5)
            // Reads 4 s apart, each of a 1 s window: a pod of a second's life fits between two.
            let service = try await FaultIntegrationTests.start(
                folder, plugs: 2, database: database, extra: [],
                configuration: Self.kubernetes(cluster, metricsInterval: "4s"))
            defer { service.stop() }
            func podRows(_ name: String) async throws -> Double {
                try await Self.number(
                    database, "SELECT count(*) FROM pod_energy WHERE kind = 'pod' AND pod = '\(name)'")
            }
            let attributing = await eventually(within: .seconds(90), every: .milliseconds(250)) {
                let steadyRows = (try? await podRows(steady.name)) ?? 0
                let doomedRows = (try? await podRows(doomed.name)) ?? 0
                return steadyRows > 0 && doomedRows > 0
            }
            try #require(attributing, "no pod rows: \(service.monitor.output.suffix(2000))")

            // A pod whose whole life lies between two reads of the pods' metrics.
            func podReads() async -> Int {
                await cluster.simulator.requests().filter { $0.resource == "pods.metrics.k8s.io" }.count
            }
            var flash: SimulatedPod?
            for attempt in 0..<3 where flash == nil {
                let reads = await podReads()
                let read = await eventually(within: .seconds(30), every: .milliseconds(20)) { await podReads() > reads }
                try #require(read)
                let after = await podReads()
                let pod = try await cluster.startPod("flash-\(attempt)", node: "sim-0", runMilliseconds: 700)
                let finished = await eventually(within: .seconds(30), every: .milliseconds(50)) {
                    await cluster.simulator.pods().contains { $0.name == pod.name && $0.phase == .succeeded }
                }
                try #require(finished)
                // Only a pod no read saw counts; on a busy machine a read may fall into its life.
                if await podReads() == after { flash = pod }
            }
            let flashed = try #require(flash, "no pod lived between two reads")

            // A running pod deleted (its Job starts another).
            _ = try await cluster.client.delete(
                path: "/api/v1/namespaces/\(Self.namespace)/pods/\(doomed.name)", propagationPolicy: nil)
            let deletedAt = Self.nowMilliseconds()
            // Two more windows attributed after both.
            let later = await eventually(within: .seconds(60), every: .milliseconds(250)) {
                let last = (try? await Self.span(database, node: "sim-0"))?.last ?? 0
                return last > deletedAt + 4000
            }
            try #require(later, "no rows after the deletion: \(service.monitor.output.suffix(1500))")

            #expect(service.monitor.isRunning)
            #expect(await TestEnvironment.get(service.base + "/readyz")?.status == 200)
            #expect(try await podRows(flashed.name) == 0, "rows for a pod without figures")
            let metrics = await Self.metrics(service)
            let exported3 = metrics.has(
                #"energy_monitor_pod_power_watts{namespace="pe",pod="\#(flashed.name)",node="sim-0"}"#)
            #expect(!exported3, "a series for a pod without rows")
            // The deleted pod: rows only up to its deletion, its counter as its rows; the
            // steady one goes on.
            let lastOfDoomed = try await Self.number(
                database,
                """
                SELECT max(p.last_ms) FROM pod_minute AS p WHERE p.kind = 'pod' AND p.pod = '\(doomed.name)'
                """)
            #expect(
                lastOfDoomed > 0 && lastOfDoomed <= Double(deletedAt),
                "last row at \(lastOfDoomed), deleted at \(deletedAt)")
            let doomedJoules = try await Self.number(
                database, "SELECT sum(joules) FROM pod_energy WHERE kind = 'pod' AND pod = '\(doomed.name)'")
            let series = try #require(
                metrics.value(
                    #"energy_monitor_pod_energy_joules_total{namespace="pe",pod="\#(doomed.name)",node="sim-0"}"#),
                "the deleted pod's series left before the retention")
            #expect(
                abs(series - doomedJoules) <= 1e-9 * max(1, doomedJoules), "series \(series) J, rows \(doomedJoules) J")
            let steadyLast = try await Self.number(
                database, "SELECT max(p.last_ms) FROM pod_minute AS p WHERE p.kind = 'pod' AND p.pod = '\(steady.name)'"
            )
            #expect(steadyLast > Double(deletedAt))
            await cluster.stop()
        } catch {
            await cluster.stop()
            throw error
        }
    }
}

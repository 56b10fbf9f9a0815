import EnergyModel
import EnergyQueries
import Exporter
import Foundation
import Logging
import Store
import TestSupport
import Testing

/// `GET /api/v1/pods/power` over HTTP: each node's power by pod per minute, and one line of
/// 400 for every bad parameter.
@Suite("Pod power API")
struct PodPowerAPITests {
    static let minute: Int64 = 1_769_030_700_000  // 2026-01-21T21:25:00Z

    struct Answer: Decodable {
        struct Share: Decodable {
            var kind: String
            var name: String
            var namespace: String?
            var pod: String?
            var pods: Int?
            var joules: Double
            var averageWatts: Double
        }
        struct Point: Decodable {
            var t: Int64
            var seconds: Double
            var watts: [Double]
        }
        struct Node: Decodable {
            var node: String
            var shares: [Share]
            var points: [Point]
        }
        var from: Int64
        var to: Int64
        var step: Int64
        var nodes: [Node]
    }

    /// Runs the monitor's HTTP server over `store` for `nodes` while `body` runs.
    static func withServer(
        store: EnergyStore, nodes: [String], _ body: @Sendable (String) async throws -> Void
    ) async throws {
        let port = TestEnvironment.freePorts(1)
        // Quiet: the server's own lines about cancelled connections at the end say nothing here.
        var logger = Logger(label: "pod-power")
        logger.logLevel = .critical
        let application = MetricsServer.makeApplication(
            host: "127.0.0.1", port: port,
            metrics: MonitorMetrics(nodes: nodes, counters: [:], annotations: false),
            readiness: { nil },
            dashboard: DashboardAPI(store: store, nodes: nodes, intervalMilliseconds: 1000),
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            defer { group.cancelAll() }
            let base = "http://127.0.0.1:\(port)"
            let up = await eventually(within: .seconds(30)) {
                await TestEnvironment.get(base + "/healthz")?.status == 200
            }
            try #require(up, "the server did not start")
            try await body(base)
        }
    }

    static func decode(_ url: String) async throws -> Answer {
        let response = try #require(
            await TestEnvironment.get(url, timeoutMilliseconds: 20_000), "no answer from \(url)")
        try #require(
            response.status == 200, "\(url): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        return try JSONDecoder().decode(Answer.self, from: Data(response.body))
    }

    @Test("per minute the average watts of each share over the minute's attributed seconds, shares in a stable order")
    func answer() async throws {
        let folder = try TemporaryDirectory("pod-power")
        let store = try EnergyStore(path: folder.path("energy.db"))
        defer { store.close() }
        func share(_ kind: PodMinuteRow.Kind, _ pod: String, minute: Int64, seconds: Int64, watts: Double)
            -> PodMinuteRow
        {
            let start = Self.minute + minute * 60_000
            return PodMinuteRow(
                node: "tvpc", kind: kind, namespace: kind == .pod ? "ml" : "", pod: pod, uid: pod,
                fromMilliseconds: start, toMilliseconds: start + seconds * 1000, cpuSeconds: 1,
                dynamicJoules: kind == .idle ? 0 : watts * Double(seconds),
                staticJoules: kind == .idle ? watts * Double(seconds) : 0, coveredMilliseconds: seconds * 1000)
        }
        try await store.addPodEnergy([
            share(.pod, "train", minute: 0, seconds: 60, watts: 20),
            share(.pod, "serve", minute: 0, seconds: 60, watts: 5),
            share(.system, "", minute: 0, seconds: 60, watts: 3),
            share(.idle, "", minute: 0, seconds: 60, watts: 40),
            // Half a minute attributed: the watts are over those 30 s.
            share(.pod, "train", minute: 1, seconds: 30, watts: 30),
            share(.idle, "", minute: 1, seconds: 30, watts: 40),
        ])
        // Samples of another node, without pod rows.
        try await store.write(
            samples: [Sample(node: "rpi", timestampMilliseconds: Self.minute, reading: Reading(watts: 2))],
            counters: [:])
        try await Self.withServer(store: store, nodes: ["tvpc", "rpi"]) { base in
            let from = Self.minute / 1000
            let answer = try await Self.decode("\(base)/api/v1/pods/power?from=\(from)&to=\(from + 120)")
            #expect(answer.from == Self.minute && answer.to == Self.minute + 120_000 && answer.step == 60_000)
            #expect(answer.nodes.map(\.node) == ["tvpc", "rpi"])
            let tvpc = answer.nodes[0]
            #expect(tvpc.shares.map(\.name) == ["ml/serve", "ml/train", "system", "idle"])
            #expect(tvpc.shares.map(\.kind) == ["pod", "pod", "system", "idle"])
            #expect(tvpc.shares.map(\.pod) == ["serve", "train", nil, nil])
            #expect(tvpc.shares.map(\.joules) == [300, 2100, 180, 3600])
            // Over the node's 90 attributed seconds.
            #expect(tvpc.shares.map(\.averageWatts) == [3.33, 23.33, 2, 40])
            #expect(tvpc.points.map(\.t) == [Self.minute, Self.minute + 60_000])
            #expect(tvpc.points.map(\.seconds) == [60, 30])
            #expect(tvpc.points.map(\.watts) == [[5, 20, 3, 40], [0, 30, 0, 40]])
            #expect(answer.nodes[1].shares.isEmpty && answer.nodes[1].points.isEmpty)

            let one = try await Self.decode("\(base)/api/v1/pods/power?node=rpi&from=\(from)&to=\(from + 120)")
            #expect(one.nodes.map(\.node) == ["rpi"])
            // The last hour by default; a window longer than the minute retention is answered too,
            // in wider steps.
            let recent = try await Self.decode("\(base)/api/v1/pods/power?node=tvpc")
            #expect(recent.to - recent.from == 3_600_000 && recent.step == 60_000)
            let long = try await Self.decode(
                "\(base)/api/v1/pods/power?from=\(from - 399 * 86_400)&to=\(from + 120)")
            #expect(long.step > 60_000 && long.step % 60_000 == 0, "\(long.step)")
            #expect(long.nodes[0].points.count == 1, "\(long.nodes[0].points.map(\.t))")
            #expect(long.nodes[0].points.first.map { $0.watts.reduce(0, +) } ?? 0 > 0)
        }
    }

    @Test("bad parameters: 400 and one line each, the server answers on")
    func badQuery() async throws {
        let folder = try TemporaryDirectory("pod-power-bad")
        let store = try EnergyStore(path: folder.path("energy.db"))
        defer { store.close() }
        try await Self.withServer(store: store, nodes: ["tvpc"]) { base in
            for (query, message) in [
                ("node=nope", #"bad request: node: unknown node "nope" (known: tvpc)"#),
                ("node=tvpc,,tvpc", #"bad request: node: empty name in "tvpc,,tvpc""#),
                ("from=soon", "bad request: from: not a time"),
                ("from=now&to=now-1h", "bad request: to: must be after from"),
                ("from=now-401d", "bad request: from: the window is longer than 400 days"),
                ("from=-99999999999999999999", "bad request: from: "),
                ("to=99999999999999999999", "bad request: to: "),
                ("from=-1&to=-2", "bad request: from: not a time"),
                ("from=now-9999999999999999999s", "bad request: from: "),
                ("node=" + String(repeating: "x", count: 10_000), "bad request: node: unknown node \"xxx"),
                ("from=" + String(repeating: "9", count: 10_000), "bad request: from: "),
                ("to=" + String(repeating: "n", count: 10_000), "bad request: to: "),
                ("node=tvpc%0Aforged", "bad request: node: unknown node"),
            ] {
                let response = try #require(
                    await TestEnvironment.get("\(base)/api/v1/pods/power?\(query)", timeoutMilliseconds: 20_000))
                let body = String(decoding: response.body, as: UTF8.self)
                #expect(response.status == 400, "\(query.prefix(80)): \(response.status)")
                #expect(body.hasPrefix(message), "\(query.prefix(80)): \(body.prefix(200))")
                #expect(body.hasSuffix("\n") && body.split(separator: "\n").count == 1, "\(body.prefix(200))")
            }
            #expect(await TestEnvironment.get(base + "/healthz")?.status == 200)
        }
    }
}

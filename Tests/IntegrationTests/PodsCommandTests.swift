import EnergyModel
import Foundation
import Store
import TestSupport
import Testing

/// `energy-monitor pods` against the fake HTTPS API server serving a PodList with known
/// times, and a store with known power.
@Suite("Per-pod energy", .serialized)
struct PodsCommandTests {
    private static func rfc3339(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    private static func pod(
        _ name: String, node: String?, job: String?, profile: String, weight: String?, containers: [[String: Any]]
    ) -> [String: Any] {
        var labels: [String: String] = ["app": "ml-workflow", "workload-profile": profile]
        if let job { labels["job-name"] = job }
        var metadata: [String: Any] = ["name": name, "namespace": "ml", "labels": labels]
        if let weight { metadata["annotations"] = ["scheduler.policy/performance-weight": weight] }
        var spec: [String: Any] = ["containers": [["name": "main", "image": "x"]]]
        if let node { spec["nodeName"] = node }
        return ["metadata": metadata, "spec": spec, "status": ["phase": "Running", "containerStatuses": containers]]
    }

    @Test("one CSV row per pod with the thesis columns, coverage and idle-corrected joules")
    func pods() async throws {
        try TestPaths.requireBinary()
        let server = try FakeAPIServer()
        defer { server.stop() }
        try await server.requireTokens(["pods-token"], unauthorizedBody: nil)
        let directory = server.certificates.directory
        let kubeconfig = try server.writeKubeconfig(token: "pods-token")

        // The store: wyse at a constant 10 W, tvpc at 50 W, 1 Hz for the last 10 minutes.
        let database = directory.appendingPathComponent("energy.db").path
        let now = (WallClock.nowMilliseconds() / 1000) * 1000
        let start = now - 600_000
        let store = try EnergyStore(path: database)
        for second in 0...600 {
            let t = start + Int64(second) * 1000
            try await store.write(
                samples: [
                    Sample(node: "wyse", timestampMilliseconds: t, reading: Reading(watts: 10)),
                    Sample(node: "tvpc", timestampMilliseconds: t, reading: Reading(watts: 50)),
                ],
                counters: [:]
            )
        }
        try await store.setInterval(milliseconds: 1000)
        // Per-pod energy: pre-abc12 shared wyse, and was given 4 W of its 10 W over its window
        // (the rows of another pod, system and idle on the same node are not its own).
        var rows: [PodMinuteRow] = []
        var part = start + 100_000
        while part < start + 160_000 {
            let end = min(start + 160_000, (part / 60_000 + 1) * 60_000)
            let seconds = Double(end - part) / 1000
            rows.append(
                PodMinuteRow(
                    node: "wyse", kind: .pod, namespace: "ml", pod: "pre-abc12", uid: "u1", fromMilliseconds: part,
                    toMilliseconds: end, cpuSeconds: seconds, dynamicJoules: 3 * seconds, staticJoules: 1 * seconds,
                    coveredMilliseconds: end - part))
            rows.append(
                PodMinuteRow(
                    node: "wyse", kind: .pod, namespace: "ml", pod: "neighbour", uid: "u2", fromMilliseconds: part,
                    toMilliseconds: end, cpuSeconds: seconds, dynamicJoules: 3 * seconds, staticJoules: 1 * seconds,
                    coveredMilliseconds: end - part))
            rows.append(
                PodMinuteRow(
                    node: "wyse", kind: .idle, fromMilliseconds: part, toMilliseconds: end, cpuSeconds: 0,
                    dynamicJoules: 0, staticJoules: 2 * seconds, coveredMilliseconds: end - part))
            part = end
        }
        try await store.addPodEnergy(rows)
        store.close()

        let podList: [String: Any] = [
            "kind": "PodList", "apiVersion": "v1", "metadata": [:],
            "items": [
                // Finished: 60 s on wyse (two containers; the window spans both).
                Self.pod(
                    "pre-abc12", node: "wyse", job: "preprocessing-job", profile: "inference", weight: "0.0",
                    containers: [
                        [
                            "name": "a",
                            "state": [
                                "terminated": [
                                    "startedAt": Self.rfc3339(start + 100_000),
                                    "finishedAt": Self.rfc3339(start + 150_000), "exitCode": 0,
                                ]
                            ],
                        ],
                        [
                            "name": "b",
                            "state": [
                                "terminated": [
                                    "startedAt": Self.rfc3339(start + 110_000),
                                    "finishedAt": Self.rfc3339(start + 160_000), "exitCode": 0,
                                ]
                            ],
                        ],
                    ]),
                // Still running on tvpc since 100 s ago: the window ends now.
                Self.pod(
                    "train-xyz", node: "tvpc", job: nil, profile: "training", weight: nil,
                    containers: [
                        ["name": "main", "state": ["running": ["startedAt": Self.rfc3339(now - 100_000)]]]
                    ]),
                // Never started: no row.
                Self.pod("pending-1", node: nil, job: nil, profile: "training", weight: "1.0", containers: []),
            ],
        ]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: podList), as: UTF8.self)
        try await server.script(status: 200, body: body, match: "/api/v1/namespaces/ml/pods")

        let knowledgeBase = directory.appendingPathComponent("profiles.yaml").path
        try """
        inference:
          - {nodeName: wyse-cpu, performanceRate: 7742.88, powerConsumptionWatts: 10.77, idlePowerWatts: 2.75}
        training:
          - {nodeName: tvpc-gpu, performanceRate: 1715.98, powerConsumptionWatts: 226.72, idlePowerWatts: 50.06}
        """.write(toFile: knowledgeBase, atomically: true, encoding: .utf8)

        let result = try await runBinary(
            [
                "pods", "--database", database, "--namespace", "ml", "--selector", "app=ml-workflow",
                "--kubeconfig", kubeconfig, "--knowledge-base", knowledgeBase,
            ],
            timeout: .seconds(30)
        )
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(
            lines.first
                == "Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Coverage,IdleJoules,AttributedJoules")
        let startStamp = String(Self.rfc3339(start + 100_000).dropLast())  // no zone, UTC
        #expect(
            lines.dropFirst().first
                == "\(startStamp),preprocessing-job,0.0,wyse,inference,60,10.00,600.00,100.0,435.00,240.00"
        )
        let running = lines.last?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) ?? []
        // No per-pod figures for it: AttributedJoules stays empty.
        #expect(running.count == 11 && running.last == "")
        if running.count == 11 {
            #expect(running[1] == "train-xyz" && running[2] == "" && running[3] == "tvpc" && running[4] == "training")
            let duration = Double(running[5]) ?? 0
            // From the container start to the command's own now, which is later on a busy machine.
            #expect(duration >= 100 && duration < 400, "\(running)")
            #expect(running[6] == "50.00")
            // Power is known up to `now` (the store's last sample); the window runs on to the command's now.
            let joules = Double(running[7]) ?? 0
            #expect(abs(joules - 5000) < 1, "\(running)")
            #expect(Double(running[9]).map { abs($0 - (joules - 50.06 * joules / 50)) < 1 } == true, "\(running)")
        }
        let requests = try await server.requests()
        // Listed in pages: the selector, then `limit` (a page the answer completes, no `continue`).
        #expect(
            requests.contains {
                $0.path == "/api/v1/namespaces/ml/pods?labelSelector=app%3Dml-workflow&limit=500" && $0.method == "GET"
            }, "\(requests.map(\.path))")
    }

    @Test("score --from-cluster reads the nodes' power annotations from the API")
    func scoreFromCluster() async throws {
        try TestPaths.requireBinary()
        let server = try FakeAPIServer()
        defer { server.stop() }
        let directory = server.certificates.directory
        let kubeconfig = try server.writeKubeconfig(token: "t")
        let now = Int(Date().timeIntervalSince1970)
        func node(_ name: String, _ watts: String, _ updated: Int) -> [String: Any] {
            [
                "metadata": [
                    "name": name,
                    "annotations": [
                        "energy.thesis.io/current-watts": watts, "energy.thesis.io/last-updated": String(updated),
                    ],
                ]
            ]
        }
        let list: [String: Any] = [
            "kind": "NodeList", "items": [node("tvpc", "61.25", now - 5), node("wyse", "3.10", now - 120)],
        ]
        try await server.script(
            status: 200, body: String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self),
            match: "/api/v1/nodes")
        let knowledgeBase = directory.appendingPathComponent("profiles.yaml").path
        try """
        inference:
          - {nodeName: tvpc-cpu, performanceRate: 22036.82, powerConsumptionWatts: 120.95, idlePowerWatts: 50.06}
          - {nodeName: wyse-cpu, performanceRate: 7742.88, powerConsumptionWatts: 10.77, idlePowerWatts: 2.75}
        """.write(toFile: knowledgeBase, atomically: true, encoding: .utf8)
        let result = try await runBinary(
            [
                "score", "--from-cluster", "--kubeconfig", kubeconfig, "--knowledge-base", knowledgeBase,
                "--profile", "inference", "--weight", "0.5", "--format", "csv",
            ],
            timeout: .seconds(30)
        )
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.contains(";") }.map {
            $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        }
        // tvpc's fresh annotation is its live power; wyse's is 2 minutes old, so its idle power stands in.
        #expect(rows.contains { $0.count > 4 && $0[1] == "tvpc" && $0[4] == "61.25" }, "\(result.stdout)")
        #expect(rows.contains { $0.count > 4 && $0[1] == "wyse" && $0[4] == "2.75" }, "\(result.stdout)")
    }
}

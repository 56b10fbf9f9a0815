import JSON
import Kubernetes
import Testing

/// Pods read for per-pod energy: node, phase, owner, times and the scheduler's CPU request.
@Suite("Pod summaries")
struct PodSummaryTests {
    static func pod(
        spec: JSONValue, status: JSONValue = ["phase": "Running", "startTime": "2025-03-01T12:00:15Z"],
        metadata: JSONValue? = nil
    ) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": metadata
                ?? [
                    "name": "train-x7k2p", "namespace": "ml", "uid": "5c1a0e3e-0000-4000-8000-000000000001",
                    "ownerReferences": [
                        ["apiVersion": "v1", "kind": "ConfigMap", "name": "not-the-controller", "uid": "a"],
                        [
                            "apiVersion": "batch/v1", "kind": "Job", "name": "train", "uid": "b", "controller": true,
                            "blockOwnerDeletion": true,
                        ],
                    ],
                ],
            "spec": spec, "status": status,
        ]
    }

    static func container(_ name: String, cpu: String?) -> JSONValue {
        guard let cpu else { return ["name": .string(name), "image": "busybox"] }
        return [
            "name": .string(name), "image": "busybox",
            "resources": ["requests": ["cpu": .string(cpu), "memory": "64Mi"], "limits": ["cpu": "4"]],
        ]
    }

    @Test("a running Job pod: node, phase, controller owner, start; requests in m and in cores add up")
    func running() throws {
        let summary = try #require(
            PodSummary(
                json: Self.pod(spec: [
                    "nodeName": "tvpc",
                    "containers": [Self.container("main", cpu: "250m"), Self.container("helper", cpu: "1")],
                ])))
        #expect(
            summary
                == PodSummary(
                    namespace: "ml", name: "train-x7k2p", uid: "5c1a0e3e-0000-4000-8000-000000000001", nodeName: "tvpc",
                    phase: "Running", cpuRequestCores: 1.25, ownerKind: "Job", ownerName: "train",
                    startMilliseconds: 1_740_830_415_000, finishMilliseconds: nil))
    }

    @Test(
        "the effective request: containers' sum, the largest init container when larger, sidecars, overhead",
        arguments: [
            // Init containers run before the app containers: the larger need counts.
            (
                [
                    "containers": [Self.container("main", cpu: "500m")],
                    "initContainers": [Self.container("fetch", cpu: "2")],
                ], 2.0
            ),
            (
                [
                    "containers": [Self.container("a", cpu: "1"), Self.container("b", cpu: "1")],
                    "initContainers": [Self.container("x", cpu: "1500m"), Self.container("y", cpu: "100m")],
                ], 2.0
            ),
            // A sidecar (restartable init container) runs beside everything after it.
            (
                [
                    "containers": [Self.container("main", cpu: "1")],
                    "initContainers": [
                        JSONValue.object(
                            (Self.container("proxy", cpu: "200m").object ?? [:]).merging(["restartPolicy": "Always"]) {
                                $1
                            }),
                        Self.container("migrate", cpu: "1500m"),
                    ],
                ], 1.7
            ),
            (["containers": [Self.container("main", cpu: "250m")], "overhead": ["cpu": "100m"]], 0.35),
            // No request: nothing (a BestEffort container).
            (["containers": [Self.container("main", cpu: nil), Self.container("b", cpu: "0.5")]], 0.5),
            (["containers": [] as JSONValue], 0.0),
        ] as [(JSONValue, Double)])
    func effectiveRequest(spec: JSONValue, cores: Double) throws {
        let summary = try #require(PodSummary(json: Self.pod(spec: spec)))
        #expect(abs(summary.cpuRequestCores - cores) < 1e-12, "\(summary.cpuRequestCores) != \(cores)")
    }

    @Test("missing fields: no spec or status is a pending pod without node or request; no owner is nil")
    func missingFields() throws {
        let bare = try #require(
            PodSummary(json: ["metadata": ["name": "bare", "namespace": "default"]]))
        #expect(
            bare
                == PodSummary(
                    namespace: "default", name: "bare", uid: "", nodeName: nil, phase: "Pending", cpuRequestCores: 0))
        let unbound = try #require(
            PodSummary(
                json: Self.pod(spec: ["nodeName": "", "containers": [Self.container("main", cpu: "1")]], status: [:])))
        #expect(unbound.nodeName == nil)
        #expect(unbound.phase == "Pending")
        #expect(unbound.startMilliseconds == nil)
        #expect(PodSummary(json: ["metadata": ["namespace": "default"]]) == nil)
        #expect(PodSummary(json: ["metadata": ["name": "x"]]) == nil)
        #expect(PodSummary(json: "a string") == nil)
        #expect(PodSummary(json: .null) == nil)
    }

    @Test("a malformed request or overhead refuses the pod rather than reading a wrong request")
    func malformed() {
        #expect(PodSummary(json: Self.pod(spec: ["containers": [Self.container("main", cpu: "a lot")]])) == nil)
        #expect(PodSummary(json: Self.pod(spec: ["containers": [Self.container("main", cpu: "-1")]])) == nil)
        #expect(
            PodSummary(
                json: Self.pod(spec: ["containers": [Self.container("main", cpu: "1")], "overhead": ["cpu": 5]]))
                == nil)
        #expect(
            PodSummary(
                json: Self.pod(spec: ["containers": [["name": "main", "resources": ["requests": ["cpu": 1]]]]])) == nil)
    }

    @Test("a finished pod: its end is the latest container finish")
    func finished() throws {
        let summary = try #require(
            PodSummary(
                json: Self.pod(
                    spec: [
                        "nodeName": "rpi",
                        "containers": [Self.container("a", cpu: "1"), Self.container("b", cpu: "1")],
                    ],
                    status: [
                        "phase": "Succeeded", "startTime": "2025-03-01T12:00:15Z",
                        "containerStatuses": [
                            [
                                "name": "a",
                                "state": ["terminated": ["exitCode": 0, "finishedAt": "2025-03-01T12:01:00Z"]],
                            ],
                            [
                                "name": "b",
                                "state": ["terminated": ["exitCode": 0, "finishedAt": "2025-03-01T12:01:05Z"]],
                            ],
                        ],
                    ])))
        #expect(summary.phase == "Succeeded")
        #expect(summary.finishMilliseconds == 1_740_830_465_000)
        #expect(summary.ownerKind == "Job")
    }
}

import ClusterSimulator
import Foundation
import JSON
import Kubernetes
import Synchronization
import TestSupport
import Testing

@testable import Workflow

/// A cluster that adds a stranger's pod to every pod list: same labels as the phase's pods,
/// succeeded on another node, finished last, but owned by no Job of the run (as a pod with
/// copied labels would be).
struct DecoyCluster: WorkflowCluster {
    let inner: KubernetesWorkflowCluster

    func createJob(_ manifest: JSONValue, name: String, namespace: String) async throws -> JSONValue {
        try await inner.createJob(manifest, name: name, namespace: namespace)
    }

    func deleteJob(name: String, namespace: String) async throws {
        try await inner.deleteJob(name: name, namespace: namespace)
    }

    func jobUpdates(name: String, namespace: String) -> AsyncThrowingStream<JSONValue?, any Error> {
        inner.jobUpdates(name: name, namespace: namespace)
    }

    func pods(namespace: String, selector: String) async throws -> [JSONValue] {
        let pods = try await inner.pods(namespace: namespace, selector: selector)
        guard let real = pods.first, case .object(var decoy) = real else { return pods }
        guard case .object(var metadata)? = decoy["metadata"] else { return pods }
        metadata["name"] = "decoy"
        metadata["uid"] = "decoy-uid"
        metadata["ownerReferences"] = .array([
            .object([
                "apiVersion": "batch/v1", "kind": "Job", "name": "someone-else", "uid": "another-uid",
                "controller": true,
            ])
        ])
        decoy["metadata"] = .object(metadata)
        guard case .object(var spec)? = decoy["spec"] else { return pods }
        spec["nodeName"] = "wyse"
        decoy["spec"] = .object(spec)
        // Finished two seconds from now (the API writes whole seconds): after the Job's own
        // pod, which finished before this list was asked for.
        let later = Self.time(Date().addingTimeInterval(2))
        decoy["status"] = .object([
            "phase": "Succeeded",
            "containerStatuses": .array([
                .object([
                    "name": "main",
                    "state": .object([
                        "terminated": .object([
                            "exitCode": 0, "reason": "Completed",
                            "startedAt": .string(Self.time(Date().addingTimeInterval(-5))),
                            "finishedAt": .string(later),
                        ])
                    ]),
                ])
            ]),
        ])
        return pods + [.object(decoy)]
    }

    func podUpdates(namespace: String, selector: String) -> AsyncThrowingStream<JSONValue, any Error> {
        inner.podUpdates(namespace: namespace, selector: selector)
    }

    /// RFC 3339 in UTC, as the API writes times.
    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

@Suite("Workflow runner: pods owned by the run's Job")
struct PodOwnershipTests {
    @Test("a pod with the phase's labels that the Job does not own never stands in for the phase")
    func decoyIgnored() async throws {
        try await withCluster(lifecycle: WorkflowRunnerTests.lifecycle()) { cluster in
            let energy = ConstantPower(["rpi": 2.5, "tvpc": 180, "wyse": 10])
            let runner = WorkflowRunner(
                configuration: .init(workflow: WorkflowRunnerTests.workflow, settleMilliseconds: 0),
                cluster: DecoyCluster(inner: KubernetesWorkflowCluster(client: cluster.client)), energy: energy,
                progress: { _ in })
            let rows = try await runner.run(scheduler: .energy, weight: 0) { _ in }
            // The decoys ran on wyse and finished last; the rows are the real pods'.
            #expect(rows.map(\.node) == ["rpi", "tvpc", "tvpc"])
            #expect(energy.windows.withLock { $0 }.allSatisfy { $0.node != "wyse" })
        }
    }
}

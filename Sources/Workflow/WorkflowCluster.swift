import JSON

/// What the runner needs from a cluster, apart from how it is reached: create and delete
/// Jobs, follow a Job, list and follow pods. `KubernetesWorkflowCluster` speaks the
/// Kubernetes API (retries, resumed watches, RBAC hints); tests and an offline cluster can
/// provide their own.
public protocol WorkflowCluster: Sendable {
    /// Creates `manifest` (a Job) in `namespace`; returns the created object.
    func createJob(_ manifest: JSONValue, name: String, namespace: String) async throws -> JSONValue
    /// Deletes a Job and, in the background, its pods.
    func deleteJob(name: String, namespace: String) async throws
    /// The Job's states from now on, until the caller stops: the current one first, then
    /// every change (`nil` when it was deleted). Resumes and relists by itself.
    func jobUpdates(name: String, namespace: String) -> AsyncThrowingStream<JSONValue?, any Error>
    /// The pods matching `selector` now.
    func pods(namespace: String, selector: String) async throws -> [JSONValue]
    /// The pods matching `selector` as they change: every current pod first, then each
    /// changed one. Resumes and relists by itself.
    func podUpdates(namespace: String, selector: String) -> AsyncThrowingStream<JSONValue, any Error>
}

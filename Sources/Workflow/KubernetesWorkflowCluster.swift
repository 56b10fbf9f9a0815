import Foundation
import JSON
import Kubernetes

/// The runner's cluster through the Kubernetes API: Jobs in `batch/v1`, pods in `v1`, with
/// the RBAC of `k8s/workflow/rbac.yaml` and nothing more (jobs: create, get, watch, delete;
/// pods: get, list, watch). Requests the server throttles (`429`, waiting `Retry-After`) or
/// fails (`5xx`, no connection) are repeated as `RetryPolicy` says for up to `patience`;
/// refusals become one line, a `403` with a hint about the RBAC file.
public struct KubernetesWorkflowCluster: WorkflowCluster {
    /// The client.
    public let client: KubernetesClient
    private let retry: RetryPolicy
    private let patienceMilliseconds: Int64
    private let watchTimeoutSeconds: Int
    private let onRetry: @Sendable (String) -> Void

    /// The runner's RBAC, for hints.
    public static let rbacFile = "k8s/workflow/rbac.yaml"

    /// A cluster through `client`. `onRetry` hears a line for every failure waited out.
    public init(
        client: KubernetesClient,
        retry: RetryPolicy = .standard,
        patienceMilliseconds: Int64 = 300_000,
        watchTimeoutSeconds: Int = 300,
        onRetry: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.client = client
        self.retry = retry
        self.patienceMilliseconds = patienceMilliseconds
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.onRetry = onRetry
    }

    static func jobsPath(_ namespace: String) -> String { "/apis/batch/v1/namespaces/\(namespace)/jobs" }
    static func podsPath(_ namespace: String) -> String { "/api/v1/namespaces/\(namespace)/pods" }

    /// Creates the Job. A `409 AlreadyExists` for a Job of the same run (a retried create
    /// whose first answer was lost) is the created Job.
    public func createJob(_ manifest: JSONValue, name: String, namespace: String) async throws -> JSONValue {
        let body = manifest.serialized
        do {
            let created = try await attempt("creating Job \(name)", namespace: namespace) {
                () throws(KubernetesRequestError) in
                try await client.post(path: Self.jobsPath(namespace), body: body)
            }
            return JSONValue.parse(created) ?? manifest
        } catch let error as KubernetesRequestError where error.status?.code == 409 {
            let existing: [UInt8]
            do {
                existing = try await attempt("reading Job \(name)", namespace: namespace) {
                    () throws(KubernetesRequestError) in
                    try await client.get(path: Self.jobsPath(namespace) + "/\(name)")
                }
            } catch let error as KubernetesRequestError {
                throw describe(error, "reading Job \(name) after 409 AlreadyExists", namespace: namespace)
            }
            let run = manifest["metadata"]?["labels"]?[WorkflowLabels.run]
            guard let object = JSONValue.parse(existing), object["metadata"]?["labels"]?[WorkflowLabels.run] == run
            else {
                throw WorkflowError("creating Job \(name): a Job of that name exists and is not this run's")
            }
            return object
        } catch let error as KubernetesRequestError {
            throw describe(error, "creating Job \(name)", namespace: namespace)
        }
    }

    /// Deletes the Job with `propagationPolicy: Background`; one that is gone already is fine.
    public func deleteJob(name: String, namespace: String) async throws {
        do {
            _ = try await attempt("deleting Job \(name)", namespace: namespace) { () throws(KubernetesRequestError) in
                try await client.delete(path: Self.jobsPath(namespace) + "/\(name)", propagationPolicy: .background)
            }
        } catch let error as KubernetesRequestError where error.isNotFound {
            return
        } catch let error as KubernetesRequestError {
            throw describe(error, "deleting Job \(name)", namespace: namespace)
        }
    }

    /// Follows one Job: `GET` for its state (the runner may not list Jobs), then a watch on
    /// `metadata.name`, resumed from its resource version. After `410 Gone` a watch without a
    /// resource version reads its current state: the Job's own resource version, which a GET
    /// would give, is as old as its last change and after an API server restart gone too.
    public func jobUpdates(name: String, namespace: String) -> AsyncThrowingStream<JSONValue?, any Error> {
        let client = self.client
        let path = Self.jobsPath(namespace)
        let watch = ResumableWatch(
            client: client, watchPath: path + "?fieldSelector=" + KubernetesClient.queryValue("metadata.name=\(name)"),
            retry: retry, timeoutSeconds: watchTimeoutSeconds, patienceMilliseconds: patienceMilliseconds,
            afterGone: .watchFromNow, onRetry: retryReporter("watching Job \(name)")
        ) { () throws(KubernetesRequestError) in
            let bytes = try await client.get(path: path + "/\(name)")
            guard let job = JSONValue.parse(bytes), let version = job["metadata"]?["resourceVersion"]?.string else {
                throw KubernetesRequestError(failure: .transport(.transport("the API did not answer with a Job")))
            }
            return ([job], version)
        }
        return map(watch.updates(), what: "watching Job \(name)", namespace: namespace) { update in
            switch update {
            case .listed(let objects): [objects.first]
            case .event(let event): [event.kind == .deleted ? nil : event.object]
            }
        }
    }

    /// Lists pods by label selector.
    public func pods(namespace: String, selector: String) async throws -> [JSONValue] {
        do {
            return try await listPods(namespace: namespace, selector: selector).objects
        } catch let error as KubernetesRequestError {
            throw describe(error, "listing pods \(selector)", namespace: namespace)
        }
    }

    private func listPods(namespace: String, selector: String) async throws -> ResumableWatch.Listing {
        let client = self.client
        let path = Self.podsPath(namespace) + "?labelSelector=" + KubernetesClient.queryValue(selector)
        return try await attempt("listing pods \(selector)", namespace: namespace) {
            () throws(KubernetesRequestError) in
            let list = try await client.list(path: path)
            return (list.items, list.resourceVersion)
        }
    }

    /// Follows pods by label selector: list, watch, resume, relist after `410 Gone`.
    public func podUpdates(namespace: String, selector: String) -> AsyncThrowingStream<JSONValue, any Error> {
        let client = self.client
        let path = Self.podsPath(namespace) + "?labelSelector=" + KubernetesClient.queryValue(selector)
        let watch = ResumableWatch(
            client: client, watchPath: path, retry: retry, timeoutSeconds: watchTimeoutSeconds,
            patienceMilliseconds: patienceMilliseconds, onRetry: retryReporter("watching pods \(selector)")
        ) { () throws(KubernetesRequestError) in
            let list = try await client.list(path: path)
            return (list.items, list.resourceVersion)
        }
        return map(watch.updates(), what: "watching pods \(selector)", namespace: namespace) { update in
            switch update {
            case .listed(let objects): objects
            case .event(let event): event.kind == .deleted ? [] : [event.object]
            }
        }
    }

    private func map<T: Sendable>(
        _ updates: AsyncThrowingStream<ResumableWatch.Update, any Error>, what: String, namespace: String,
        _ transform: @escaping @Sendable (ResumableWatch.Update) -> [T]
    ) -> AsyncThrowingStream<T, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: T.self)
        let task = Task {
            do {
                for try await update in updates {
                    for value in transform(update) { continuation.yield(value) }
                }
                continuation.finish()
            } catch let error as KubernetesRequestError {
                continuation.finish(throwing: describe(error, what, namespace: namespace))
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func retryReporter(_ what: String) -> @Sendable (KubernetesRequestError, Int64) -> Void {
        let onRetry = self.onRetry
        return { error, delay in
            onRetry("\(what): \(error); again in \(String(format: "%.1f", Double(delay) / 1000)) s")
        }
    }

    /// Runs `body`, repeating it after throttling and transient failures for at most
    /// `patience`; anything else is thrown at once.
    private func attempt<T: Sendable>(
        _ what: String, namespace: String, _ body: () async throws(KubernetesRequestError) -> T
    ) async throws -> T {
        var failures = 0
        let started = ContinuousClock.now
        while true {
            do {
                return try await body()
            } catch {
                failures += 1
                guard
                    let delay = retry.delayMilliseconds(
                        after: error.failure, failures: failures, jitter: Double.random(in: 0..<1)),
                    ContinuousClock.now - started + .milliseconds(delay) <= .milliseconds(patienceMilliseconds)
                else { throw error }
                onRetry("\(what): \(error); again in \(String(format: "%.1f", Double(delay) / 1000)) s")
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    /// One line for a request the API refused, with what to do about it.
    func describe(_ error: KubernetesRequestError, _ what: String, namespace: String) -> WorkflowError {
        switch error.status?.code {
        case 403:
            return WorkflowError(
                "\(what): \(error.failure) (RBAC: the runner needs the Role in \(Self.rbacFile), jobs: create, get, watch, delete "
                    + "and pods: get, list, watch in namespace \(namespace), bound to the account it runs as; "
                    + "kubectl apply -f \(Self.rbacFile) with its namespace set to \(namespace))")
        case 401:
            return WorkflowError(
                "\(what): \(error.failure) (the API server refused the credentials of \(client.connection.origin))")
        case 404 where what.hasPrefix("creating"):
            return WorkflowError(
                "\(what): \(error.failure) (does namespace \(namespace) exist? kubectl create namespace \(namespace))")
        default:
            if case .transport(let transport) = error.failure {
                return WorkflowError("\(what): cannot reach the API server \(client.connection.server): \(transport)")
            }
            return WorkflowError("\(what): \(error.failure)")
        }
    }
}

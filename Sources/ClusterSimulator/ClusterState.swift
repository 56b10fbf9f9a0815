import EnergyModel
import Foundation
import JSON
import Logging

/// Everything the simulated cluster holds: nodes, Jobs, pods, the event history that watches
/// replay from a resource version, the open watches, and the controllers that move pods
/// along (a Job controller creating and replacing pods, a kubelet running them as the
/// `PodLifecycle` says). One actor, so every change and its watch event happen in one step.
actor ClusterState {
    /// One entry of the history: what a watch from an older resource version replays.
    struct Event {
        var resourceVersion: Int
        var resource: SimulatedResource
        var type: String
        var namespace: String?
        var labels: [String: String]
        var fields: [String: String]
        var object: JSONValue
    }

    /// What an open watch is sent.
    enum WatchMessage: Sendable {
        /// One line of the stream.
        case line([UInt8])
        /// The server ends the watch normally (its timeout).
        case end
        /// The connection breaks without a proper end (a dropped watch).
        case abort
    }

    struct Watcher {
        var resource: SimulatedResource
        var namespace: String?
        var labelSelector: LabelSelector
        var fieldSelector: LabelSelector
        var continuation: AsyncStream<WatchMessage>.Continuation

        func matches(_ event: Event) -> Bool {
            event.resource == resource && (namespace == nil || event.namespace == namespace)
                && labelSelector.matches(event.labels) && fieldSelector.matches(event.fields)
        }
    }

    /// The outcome of asking to watch.
    enum WatchOpening {
        /// The resource version is older than the history: `410 Gone`.
        case gone(String)
        /// Events to send first, then the live stream.
        case open(id: Int, backlog: [[UInt8]], stream: AsyncStream<WatchMessage>)
    }

    private let configuration: ClusterSimulator.Configuration
    private let lifecycle: any PodLifecycle
    private let logger: Logger
    private var resourceVersion = 1
    /// Replays older than this are `410 Gone`.
    private var oldestReplayable = 0
    private var history: [Event] = []
    private var nodes: [String: SimulatedNode] = [:]
    private var nodeOrder: [String] = []
    private var nodeVersions: [String: Int] = [:]
    private var jobs: [String: SimulatedJob] = [:]  // by namespace/name
    private var pods: [String: SimulatedPod] = [:]  // by namespace/name
    private var podTasks: [String: Task<Void, Never>] = [:]
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcher = 0
    private var nextUID = 0
    var faults = ClusterFaults()
    private(set) var requests: [RecordedRequest] = []
    /// The bearer tokens accepted (nil: no check); changed by `acceptTokens`.
    var acceptedTokens: Set<String>?
    /// Objects of other kinds (ConfigMaps, Deployments, policies), by `resource/namespace/name`.
    var objects: [String: JSONValue] = [:]
    /// Watches that no longer get events or bookmarks (the `stallWatches` fault).
    private var stalled: Set<Int> = []
    /// Every pod's and node's CPU load over time, for the metrics API.
    var cpuLoad: CPULoadTimeline
    /// The time metrics answers stay at while frozen (`freezeMetrics`).
    var metricsFrozenAt: Int64?

    init(configuration: ClusterSimulator.Configuration, lifecycle: any PodLifecycle, logger: Logger) {
        self.configuration = configuration
        self.lifecycle = lifecycle
        self.logger = logger
        self.cpuLoad = CPULoadTimeline(systemCores: configuration.metrics?.systemCores ?? [:])
        for node in configuration.nodes {
            nodes[node.name] = node
            nodeOrder.append(node.name)
            nodeVersions[node.name] = 1
        }
        acceptedTokens = configuration.token.map { [$0] }
        for object in configuration.objects {
            if let key = Self.objectKey(of: object) { objects[key] = object }
        }
    }

    // MARK: - Requests and faults

    func record(_ request: RecordedRequest) {
        requests.append(request)
        if requests.count > 100_000 { requests.removeFirst(requests.count - 100_000) }
    }

    func withFaults<T: Sendable>(_ body: (inout ClusterFaults) -> T) -> T {
        body(&faults)
    }

    // MARK: - Reading

    var currentResourceVersion: String { String(resourceVersion) }

    func list(_ resource: SimulatedResource, namespace: String?, labels: LabelSelector, fields: LabelSelector)
        -> [JSONValue]
    {
        objects(resource, namespace: namespace)
            .filter { labels.matches($0.labels) && fields.matches($0.fields) }
            .map(\.object)
    }

    func get(_ resource: SimulatedResource, namespace: String?, name: String) -> JSONValue? {
        objects(resource, namespace: namespace).first { $0.fields["metadata.name"] == name }?.object
    }

    /// Every object of a kind, as watch events would carry it (for lists and initial events).
    private func objects(_ resource: SimulatedResource, namespace: String?) -> [Event] {
        switch resource {
        case .pods:
            return pods.values.filter { namespace == nil || $0.namespace == namespace }
                .sorted { ($0.createdMilliseconds, $0.name) < ($1.createdMilliseconds, $1.name) }
                .map { event(for: $0, type: "ADDED") }
        case .jobs:
            return jobs.values.filter { namespace == nil || $0.namespace == namespace }
                .sorted { ($0.createdMilliseconds, $0.name) < ($1.createdMilliseconds, $1.name) }
                .map { event(for: $0, type: "ADDED") }
        case .nodes:
            return nodeOrder.compactMap { nodes[$0] }.map { event(for: $0, type: "ADDED") }
        }
    }

    func podSnapshots() -> [SimulatedPod] {
        pods.values.sorted { ($0.createdMilliseconds, $0.name) < ($1.createdMilliseconds, $1.name) }
    }

    func jobSnapshots() -> [SimulatedJob] {
        jobs.values.sorted { ($0.createdMilliseconds, $0.name) < ($1.createdMilliseconds, $1.name) }
    }

    func nodeSnapshots() -> [SimulatedNode] {
        nodeOrder.compactMap { nodes[$0] }
    }

    // MARK: - Watches

    func openWatch(
        _ resource: SimulatedResource, namespace: String?, labels: LabelSelector, fields: LabelSelector,
        from version: String?
    ) -> WatchOpening {
        let (stream, continuation) = AsyncStream.makeStream(of: WatchMessage.self)
        let watcher = Watcher(
            resource: resource, namespace: namespace, labelSelector: labels, fieldSelector: fields,
            continuation: continuation)
        var backlog: [[UInt8]] = []
        if let version, !version.isEmpty, version != "0" {
            guard let start = Int(version), start >= oldestReplayable else {
                return .gone("too old resource version: \(version) (\(oldestReplayable))")
            }
            for event in history where event.resourceVersion > start && watcher.matches(event) {
                backlog.append(Self.line(type: event.type, object: event.object))
            }
        } else {
            for event in objects(resource, namespace: namespace) where watcher.matches(event) {
                backlog.append(Self.line(type: "ADDED", object: event.object))
            }
        }
        nextWatcher += 1
        watchers[nextWatcher] = watcher
        return .open(id: nextWatcher, backlog: backlog, stream: stream)
    }

    func endWatch(_ id: Int, with message: WatchMessage = .end) {
        stalled.remove(id)
        guard let watcher = watchers.removeValue(forKey: id) else { return }
        watcher.continuation.yield(message)
        watcher.continuation.finish()
    }

    var openWatchCount: Int { watchers.count }

    /// Sends a watch a `BOOKMARK` at the current resource version: every event up to it has
    /// been sent to the watch already (both happen on this actor), so resuming from it loses
    /// nothing. Its write also tells the server when the client has gone.
    func bookmark(_ id: Int) {
        guard let watcher = watchers[id], !stalled.contains(id) else { return }
        let (kind, apiVersion) = ClusterResponder.listKind(watcher.resource)
        let object: JSONValue = [
            "kind": .string(String(kind.dropLast(4))), "apiVersion": .string(apiVersion),
            "metadata": ["resourceVersion": .string(String(resourceVersion))],
        ]
        watcher.continuation.yield(.line(Self.line(type: "BOOKMARK", object: object)))
    }

    /// Breaks every open watch's connection.
    func dropWatches() {
        for id in Array(watchers.keys) { endWatch(id, with: .abort) }
    }

    /// Sends every open watch an `ERROR` event with `code` (410: the resource version
    /// expired) and ends it, as the API server does.
    func failWatches(code: Int, reason: String, message: String) {
        let status = ClusterResponses.status(code: code, reason: reason, message: message)
        for id in Array(watchers.keys) {
            watchers[id]?.continuation.yield(.line(Self.line(type: "ERROR", object: status)))
            endWatch(id)
        }
    }

    /// Forgets the history: a watch resumed from any version seen so far gets `410 Gone`.
    func expireHistory() {
        history.removeAll()
        oldestReplayable = resourceVersion
    }

    /// Every open watch stops getting events and bookmarks, its connection left open: a
    /// connection dropped somewhere on the way without either end noticing.
    func stallWatches() {
        stalled.formUnion(watchers.keys)
    }

    /// What an API server restart does to the storage a client sees: every watch breaks, the
    /// resource version moves on (K3s's kine writes its own records as it starts) and the
    /// history starts at the new version, so that every version a client saw is `410 Gone`.
    func restartStorage() {
        for id in Array(watchers.keys) { endWatch(id, with: .abort) }
        resourceVersion += 100
        expireHistory()
    }

    /// Whether a continuation token of a list made at `version` is still served.
    func isReplayable(_ version: Int) -> Bool { version >= oldestReplayable }

    // MARK: - Other objects

    /// The resource name of an object's kind (`ConfigMap` → `configmaps`).
    static func resourceName(ofKind kind: String) -> String {
        let lower = kind.lowercased()
        return lower.hasSuffix("y") ? String(lower.dropLast()) + "ies" : lower + "s"
    }

    static func objectKey(resource: String, namespace: String?, name: String) -> String {
        "\(resource)/\(namespace ?? "")/\(name)"
    }

    /// Where an object of another kind is kept: by its kind's resource, namespace and name.
    static func objectKey(of object: JSONValue) -> String? {
        guard let kind = object["kind"]?.string, let name = object["metadata"]?["name"]?.string else { return nil }
        return objectKey(
            resource: resourceName(ofKind: kind), namespace: object["metadata"]?["namespace"]?.string, name: name)
    }

    /// Adds or replaces an object of another kind.
    func put(_ object: JSONValue) {
        if let key = Self.objectKey(of: object) { objects[key] = object }
    }

    /// Removes an object of another kind.
    func removeObject(resource: String, namespace: String?, name: String) {
        objects.removeValue(forKey: Self.objectKey(resource: resource, namespace: namespace, name: name))
    }

    func object(resource: String, namespace: String?, name: String) -> JSONValue? {
        objects[Self.objectKey(resource: resource, namespace: namespace, name: name)]
    }

    func objectList(resource: String, namespace: String?) -> [JSONValue] {
        let prefix = "\(resource)/" + (namespace.map { "\($0)/" } ?? "")
        return objects.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map(\.value)
    }

    func acceptTokens(_ tokens: Set<String>?) { acceptedTokens = tokens }

    func accepts(authorization: String?) -> Bool {
        guard let acceptedTokens else { return true }
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        return acceptedTokens.contains(String(authorization.dropFirst(7)))
    }

    static func line(type: String, object: JSONValue) -> [UInt8] {
        JSONValue.object(["type": .string(type), "object": object]).serialized + [UInt8(ascii: "\n")]
    }

    private func publish(_ event: Event) {
        history.append(event)
        if history.count > configuration.historyLimit {
            let dropped = history.count - configuration.historyLimit
            oldestReplayable = history[dropped - 1].resourceVersion
            history.removeFirst(dropped)
        }
        let line = Self.line(type: event.type, object: event.object)
        for (id, watcher) in watchers where watcher.matches(event) && !stalled.contains(id) {
            watcher.continuation.yield(.line(line))
        }
    }

    private func bump() -> Int {
        resourceVersion += 1
        return resourceVersion
    }

    private func event(for pod: SimulatedPod, type: String) -> Event {
        Event(
            resourceVersion: pod.resourceVersion, resource: .pods, type: type, namespace: pod.namespace,
            labels: pod.labels,
            fields: pod.selectableFields, object: pod.json)
    }

    private func event(for job: SimulatedJob, type: String) -> Event {
        Event(
            resourceVersion: job.resourceVersion, resource: .jobs, type: type, namespace: job.namespace,
            labels: job.labels,
            fields: job.selectableFields, object: job.json)
    }

    private func event(for node: SimulatedNode, type: String) -> Event {
        let version = nodeVersions[node.name] ?? 1
        return Event(
            resourceVersion: version, resource: .nodes, type: type, namespace: nil, labels: node.labels,
            fields: ["metadata.name": node.name], object: node.json(resourceVersion: version))
    }

    private func update(_ pod: inout SimulatedPod, type: String = "MODIFIED") {
        pod.resourceVersion = bump()
        pods[Self.key(pod.namespace, pod.name)] = pod
        cpuLoad.podChanged(
            key: Self.key(pod.namespace, pod.name), namespace: pod.namespace, name: pod.name, uid: pod.uid,
            labels: pod.labels,
            containers: (pod.spec["containers"]?.array ?? []).enumerated().map {
                $1["name"]?.string ?? "container-\($0)"
            },
            node: pod.nodeName, started: pod.phase == .pending ? nil : pod.startedMilliseconds,
            finished: pod.finishedMilliseconds)
        publish(event(for: pod, type: type))
    }

    private func update(_ job: inout SimulatedJob, type: String = "MODIFIED") {
        job.resourceVersion = bump()
        jobs[Self.key(job.namespace, job.name)] = job
        publish(event(for: job, type: type))
    }

    static func key(_ namespace: String, _ name: String) -> String { namespace + "/" + name }

    private func makeUID() -> String {
        nextUID += 1
        return String(format: "00000000-0000-4000-8000-%012x", nextUID)
    }

    // MARK: - Jobs

    /// Creates a Job from a posted manifest and its first pod.
    func createJob(namespace: String, manifest: JSONValue) throws(ClusterFailure) -> JSONValue {
        guard let metadata = manifest["metadata"]?.object else { throw .invalid("metadata: required") }
        var name = metadata["name"]?.string ?? ""
        if name.isEmpty, let prefix = metadata["generateName"]?.string, !prefix.isEmpty {
            name = prefix + Self.randomSuffix()
        }
        guard ClusterResponses.isDNSLabel(name) else {
            throw .invalid("metadata.name: \"\(name)\" is not a valid DNS-1123 label")
        }
        if let given = metadata["namespace"]?.string, given != namespace {
            throw .invalid("metadata.namespace: \"\(given)\" does not match the request's namespace \"\(namespace)\"")
        }
        guard jobs[Self.key(namespace, name)] == nil else {
            throw .conflict(code: 409, reason: "AlreadyExists", "jobs.batch \"\(name)\" already exists")
        }
        guard let spec = manifest["spec"]?.object, let template = spec["template"]?.object,
            let podSpec = template["spec"]?.object, let containers = podSpec["containers"]?.array, !containers.isEmpty
        else { throw .invalid("spec.template.spec.containers: Required value") }
        for (index, container) in containers.enumerated() {
            guard let image = container["image"]?.string, !image.isEmpty else {
                throw .invalid("spec.template.spec.containers[\(index)].image: Required value")
            }
        }
        let restart = podSpec["restartPolicy"]?.string
        guard restart == "Never" || restart == "OnFailure" else {
            throw .invalid(
                "spec.template.spec.restartPolicy: Unsupported value: \"\(restart ?? "")\": supported values: \"OnFailure\", \"Never\""
            )
        }
        var job = SimulatedJob(
            name: name, namespace: namespace, uid: makeUID(), labels: metadata["labels"]?.stringMap ?? [:],
            annotations: metadata["annotations"]?.stringMap ?? [:], spec: spec,
            createdMilliseconds: WallClock.nowMilliseconds(),
            active: 0, succeeded: 0, failed: 0, podsCreated: 0, condition: nil, completionMilliseconds: nil,
            resourceVersion: 0)
        update(&job, type: "ADDED")
        createPod(for: &job)
        return jobs[Self.key(namespace, name)]?.json ?? job.json
    }

    /// Deletes a Job; `Background` and `Foreground` delete its pods too, `Orphan` (the API's
    /// default for Jobs) leaves them.
    func deleteJob(namespace: String, name: String, propagation: String?) throws(ClusterFailure) -> JSONValue {
        guard let job = jobs.removeValue(forKey: Self.key(namespace, name)) else {
            throw .notFound("jobs.batch \"\(name)\" not found")
        }
        var gone = job
        gone.resourceVersion = bump()
        publish(event(for: gone, type: "DELETED"))
        if propagation == "Background" || propagation == "Foreground" {
            for pod in pods.values where pod.job?.uid == job.uid {
                removePod(pod)
            }
        }
        return gone.json
    }

    /// Deletes a pod; its Job (if still running) replaces it.
    func deletePod(namespace: String, name: String) throws(ClusterFailure) -> JSONValue {
        guard let pod = pods[Self.key(namespace, name)] else { throw .notFound("pods \"\(name)\" not found") }
        removePod(pod)
        if !pod.isFinished, let owner = pod.job, var job = jobs[Self.key(namespace, owner.name)], job.uid == owner.uid,
            !job.isFinished
        {
            job.active = max(0, job.active - 1)
            update(&job)
            scheduleReplacement(of: job)
        }
        return pod.json
    }

    private func removePod(_ pod: SimulatedPod) {
        let key = Self.key(pod.namespace, pod.name)
        podTasks.removeValue(forKey: key)?.cancel()
        guard var gone = pods.removeValue(forKey: key) else { return }
        cpuLoad.podRemoved(key: key, at: WallClock.nowMilliseconds())
        gone.resourceVersion = bump()
        publish(event(for: gone, type: "DELETED"))
    }

    private func createPod(for job: inout SimulatedJob) {
        guard let template = job.spec["template"]?.object else { return }
        let name = job.name + "-" + Self.randomSuffix()
        var labels = template["metadata"]?["labels"]?.stringMap ?? [:]
        labels["job-name"] = job.name
        labels["batch.kubernetes.io/job-name"] = job.name
        labels["controller-uid"] = job.uid
        labels["batch.kubernetes.io/controller-uid"] = job.uid
        var spec = template["spec"]?.object ?? [:]
        spec["schedulerName"] = spec["schedulerName"] ?? "default-scheduler"
        var pod = SimulatedPod(
            name: name, namespace: job.namespace, uid: makeUID(), job: (job.name, job.uid), attempt: job.podsCreated,
            labels: labels, annotations: template["metadata"]?["annotations"]?.stringMap ?? [:], spec: spec,
            createdMilliseconds: WallClock.nowMilliseconds(), nodeName: nil, phase: .pending, unschedulableMessage: nil,
            startedMilliseconds: nil, finishedMilliseconds: nil, exitCode: nil, reason: nil, message: nil,
            resourceVersion: 0)
        update(&pod, type: "ADDED")
        job.podsCreated += 1
        job.active += 1
        update(&job)
        let key = Self.key(pod.namespace, pod.name)
        let info = pod.info
        let lifecycle = self.lifecycle
        podTasks[key] = Task {
            let placement = await lifecycle.placement(of: info)
            guard !Task.isCancelled else { return }
            switch placement {
            case .node(let node, let delay):
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                self.placeBySimulatedScheduler(key: key, node: node)
            case .unschedulable(let message):
                self.markUnschedulable(key: key, message: message)
            case .awaitBinding:
                break
            }
        }
    }

    private func scheduleReplacement(of job: SimulatedJob) {
        let key = Self.key(job.namespace, job.name)
        let uid = job.uid
        let delay = configuration.replacementDelay
        Task {
            try? await Task.sleep(for: delay)
            self.replace(jobKey: key, uid: uid)
        }
    }

    private func replace(jobKey: String, uid: String) {
        guard var job = jobs[jobKey], job.uid == uid, !job.isFinished, job.active == 0 else { return }
        createPod(for: &job)
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
    }

    // MARK: - The pod's life

    private func markUnschedulable(key: String, message: String) {
        guard var pod = pods[key], pod.nodeName == nil else { return }
        pod.unschedulableMessage = message
        update(&pod)
    }

    private func placeBySimulatedScheduler(key: String, node: String) {
        do {
            try bind(key: key, node: node)
        } catch {
            markUnschedulable(key: key, message: "0/\(nodes.count) nodes are available: \(error.message)")
        }
    }

    /// Binds a pending pod to a node (what `POST .../binding` does) and starts its run.
    func bind(namespace: String, name: String, node: String) throws(ClusterFailure) {
        try bind(key: Self.key(namespace, name), node: node)
    }

    private func bind(key: String, node: String) throws(ClusterFailure) {
        guard var pod = pods[key] else { throw .notFound("pods \"\(key)\" not found") }
        guard pod.nodeName == nil else {
            throw .conflict(
                code: 409, reason: "Conflict", "pod \(pod.name) is already assigned to node \"\(pod.nodeName ?? "")\"")
        }
        guard nodes[node] != nil else { throw .invalid("node \"\(node)\" not found") }
        if let allowed = pod.requiredNodeNames, !allowed.contains(node) {
            throw .invalid(
                "node \"\(node)\" does not match the pod's node affinity (\(allowed.joined(separator: ", ")))")
        }
        pod.nodeName = node
        pod.unschedulableMessage = nil
        update(&pod)
        let info = pod.info
        let lifecycle = self.lifecycle
        podTasks[key] = Task {
            let run = await lifecycle.run(of: info, on: node)
            if let times = run.containerTimes {
                // By the wall clock, with the kubelet's times however late this task wakes.
                await Self.sleep(untilMilliseconds: times.startMilliseconds)
                guard !Task.isCancelled else { return }
                self.markRunning(key: key, at: times.startMilliseconds)
                await Self.sleep(untilMilliseconds: times.finishMilliseconds)
                guard !Task.isCancelled else { return }
                _ = try? self.finish(key: key, outcome: run.outcome, at: times.finishMilliseconds)
                return
            }
            try? await Task.sleep(for: run.startDelay)
            guard !Task.isCancelled else { return }
            self.markRunning(key: key)
            guard let duration = run.duration else { return }
            try? await Task.sleep(for: duration)
            guard !Task.isCancelled else { return }
            _ = try? self.finish(key: key, outcome: run.outcome)
        }
    }

    private func markRunning(key: String, at time: Int64? = nil) {
        guard var pod = pods[key], pod.phase == .pending else { return }
        pod.phase = .running
        pod.startedMilliseconds = time ?? WallClock.nowMilliseconds()
        update(&pod)
    }

    /// Sleeps until the wall clock reads `milliseconds` (unix).
    static func sleep(untilMilliseconds milliseconds: Int64) async {
        let wait = milliseconds - WallClock.nowMilliseconds()
        if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
    }

    /// Ends a pod's run as `outcome` (the test's hand, or the lifecycle's `duration`).
    func finish(namespace: String, name: String, outcome: PodOutcome) throws(ClusterFailure) {
        try finish(key: Self.key(namespace, name), outcome: outcome)
    }

    private func finish(key: String, outcome: PodOutcome, at time: Int64? = nil) throws(ClusterFailure) {
        guard var pod = pods[key] else { throw .notFound("pods \"\(key)\" not found") }
        guard !pod.isFinished else {
            throw .conflict(code: 409, reason: "Conflict", "pod \(pod.name) has already finished")
        }
        let now = time ?? WallClock.nowMilliseconds()
        if case .evict = outcome, pod.nodeName == nil {
            throw .invalid("pod \(pod.name) is not bound; nothing to evict")
        }
        // A pod that ends before it ran (evicted while starting) still gets container times.
        pod.startedMilliseconds = pod.startedMilliseconds ?? now
        pod.finishedMilliseconds = now
        switch outcome {
        case .succeed:
            pod.phase = .succeeded
            pod.exitCode = 0
        case .fail(let code):
            pod.phase = .failed
            pod.exitCode = code == 0 ? 1 : code
        case .evict(let message):
            pod.phase = .failed
            pod.exitCode = 137
            pod.reason = "Evicted"
            pod.message = message
        case .nodeLost(let message):
            pod.phase = .failed
            pod.exitCode = 137
            pod.reason = "NodeLost"
            pod.message = message
        }
        podTasks.removeValue(forKey: key)?.cancel()
        update(&pod)
        guard let owner = pod.job, var job = jobs[Self.key(pod.namespace, owner.name)], job.uid == owner.uid,
            !job.isFinished
        else {
            return
        }
        job.active = max(0, job.active - 1)
        switch outcome {
        case .succeed:
            job.succeeded += 1
            job.condition = ("Complete", nil, nil)
            job.completionMilliseconds = now
            update(&job)
        case .evict where job.ignoresDisruptions:
            update(&job)
            scheduleReplacement(of: job)
        case .fail, .evict, .nodeLost:
            job.failed += 1
            if job.failed > job.backoffLimit {
                job.condition = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
                job.completionMilliseconds = now
                update(&job)
            } else {
                update(&job)
                scheduleReplacement(of: job)
            }
        }
    }

    // MARK: - Nodes

    /// Applies a JSON merge patch to a node's labels and annotations (what the monitor does).
    func patchNode(name: String, patch: JSONValue) throws(ClusterFailure) -> JSONValue {
        guard var node = nodes[name] else { throw .notFound("nodes \"\(name)\" not found") }
        guard let metadata = patch["metadata"] else {
            throw .invalid("the patch changes nothing the simulator keeps (metadata only)")
        }
        func merge(_ map: inout [String: String], _ change: JSONValue?) {
            for (key, value) in change?.object ?? [:] {
                if value.isNull { map.removeValue(forKey: key) } else if let text = value.string { map[key] = text }
            }
        }
        merge(&node.annotations, metadata["annotations"])
        merge(&node.labels, metadata["labels"])
        nodes[name] = node
        nodeVersions[name] = bump()
        publish(event(for: node, type: "MODIFIED"))
        return node.json(resourceVersion: nodeVersions[name] ?? 1)
    }

    /// Adds a node (or replaces one of the same name): watchers see `ADDED`.
    func addNode(_ node: SimulatedNode) {
        if nodes[node.name] == nil { nodeOrder.append(node.name) }
        nodes[node.name] = node
        nodeVersions[node.name] = bump()
        publish(event(for: node, type: "ADDED"))
    }

    /// Removes a node: it is deleted (watchers see `DELETED`), and every unfinished pod on
    /// it fails with reason `NodeLost`, counted against its Job's `backoffLimit`.
    func removeNode(name: String) throws(ClusterFailure) {
        guard let node = nodes.removeValue(forKey: name) else { throw .notFound("nodes \"\(name)\" not found") }
        nodeOrder.removeAll { $0 == name }
        nodeVersions[name] = bump()
        publish(event(for: node, type: "DELETED"))
        let lost = pods.filter { $0.value.nodeName == name && !$0.value.isFinished }.map(\.key).sorted()
        for key in lost {
            try? finish(key: key, outcome: .nodeLost(message: "node \(name) was removed from the cluster"))
        }
    }

    // MARK: - Shutdown

    func stop() {
        for task in podTasks.values { task.cancel() }
        podTasks.removeAll()
        for id in Array(watchers.keys) { endWatch(id, with: .abort) }
    }
}

/// A request the API refuses, with the status it answers.
struct ClusterFailure: Error {
    var code: Int
    var reason: String
    var message: String

    static func invalid(_ message: String) -> ClusterFailure {
        ClusterFailure(code: 422, reason: "Invalid", message: message)
    }
    static func notFound(_ message: String) -> ClusterFailure {
        ClusterFailure(code: 404, reason: "NotFound", message: message)
    }
    static func conflict(code: Int, reason: String, _ message: String) -> ClusterFailure {
        ClusterFailure(code: code, reason: reason, message: message)
    }
}

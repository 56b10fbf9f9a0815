import Foundation
import Hummingbird
import JSON
import NIOCore

/// Answers the subset of the Kubernetes API the simulator speaks (see `ClusterSimulator`),
/// after authentication, injected faults and RBAC.
struct ClusterResponder: Sendable {
    let state: ClusterState
    let configuration: ClusterSimulator.Configuration

    /// The parts of a request path the API cares about.
    struct Route {
        var resource: SimulatedResource?
        /// `pods/binding` for the binding subresource, else the resource's name.
        var resourceName: String
        var namespace: String?
        var name: String?
        var subresource: String?
    }

    /// A watch that ends by breaking the connection (the `dropWatches` fault).
    struct WatchDropped: Error {}

    func respond(to incoming: Request) async -> Response {
        var request = incoming
        let bodyBuffer = (try? await request.collectBody(upTo: 16 << 20)) ?? ByteBuffer()
        let body = String(buffer: bodyBuffer)
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let route = Self.route(request.uri.path)
        let metrics = MetricsRoute(request.uri.path)
        let extra = route == nil && metrics == nil ? Self.extraRoute(request.uri.path) : nil
        let isWatch = query["watch"] == "1" || query["watch"] == "true"
        var verb = Self.verb(method: request.method.rawValue, route: route, watch: isWatch)
        if let extra { verb = extra.verb(method: request.method.rawValue) }
        if let metrics { verb = metrics.verb(method: request.method.rawValue, watch: isWatch) }
        var record = RecordedRequest(
            method: request.method.rawValue, path: request.uri.path, query: query, body: body, verb: verb,
            resource: route?.resourceName ?? metrics?.resource ?? extra?.resource ?? "",
            namespace: route?.namespace ?? metrics?.namespace ?? extra?.namespace,
            name: route?.name ?? metrics?.name ?? extra?.name, status: 0)
        let response = await answer(request, route: route, verb: verb, query: query, body: body, watch: isWatch)
        record.status = Int(response.status.code)
        await state.record(record)
        return response
    }

    private func answer(
        _ request: Request, route: Route?, verb: String, query: [String: String], body: String, watch: Bool
    ) async -> Response {
        guard await state.accepts(authorization: request.headers[.authorization]) else {
            return ClusterResponses.json(
                ClusterResponses.status(code: 401, reason: "Unauthorized", message: "Unauthorized"), status: 401)
        }
        let caller: Caller
        switch impersonation(request) {
        case .success(let found): caller = found
        case .failure(let refusal): return refusal.response
        }
        if let metrics = MetricsRoute(request.uri.path) {
            return await answerMetrics(metrics, request: request, caller: caller, verb: verb, query: query, body: body)
        }
        if let extra = Self.extraRoute(request.uri.path), route == nil {
            return await answerExtra(extra, request: request, caller: caller, query: query, body: body)
        }
        guard let route else {
            return ClusterResponses.failure(.notFound("the server could not find the requested resource"))
        }
        let probe = RecordedRequest(
            method: request.method.rawValue, path: request.uri.path, query: query, body: body, verb: verb,
            resource: route.resourceName, namespace: route.namespace, name: route.name, status: 0)
        if let fault = await state.withFaults({ $0.take(for: probe) }) {
            return faultResponse(fault, query: query) { forbidden(verb: verb, route: route) }
        }
        let refused = await state.withFaults { $0.forbidden.contains("\(verb) \(route.resourceName)") }
        if refused || !Self.allows(caller.permissions, verb: verb, resource: route.resourceName) {
            return forbidden(verb: verb, route: route, user: caller.user)
        }
        do {
            return try await dispatch(request.method.rawValue, route: route, query: query, body: body, watch: watch)
        } catch let failure as ClusterFailure {
            return ClusterResponses.failure(failure)
        } catch {
            return ClusterResponses.failure(ClusterFailure(code: 400, reason: "BadRequest", message: "\(error)"))
        }
    }

    /// The answer of an injected fault: 429 with `Retry-After`, 403 in the API server's words
    /// (`forbidden`), 410 `Expired`, an empty 200 (a watch that ends at once), else a `Status`.
    func faultResponse(_ fault: ClusterFaults.Scripted, query: [String: String], forbidden: () -> Response)
        -> Response
    {
        switch fault.status {
        case 429:
            return ClusterResponses.throttled(retryAfter: fault.retryAfter)
        case 403:
            return forbidden()
        case 410:
            return ClusterResponses.json(
                ClusterResponses.status(
                    code: 410, reason: "Expired",
                    message: "too old resource version: \(query["resourceVersion"] ?? "")"),
                status: 410)
        case 200:
            // An empty answer: a watch that ends as soon as it began.
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody())
        default:
            return ClusterResponses.json(
                ClusterResponses.status(
                    code: fault.status, reason: "InternalError", message: "injected failure \(fault.status)"),
                status: fault.status)
        }
    }

    private func forbidden(verb: String, route: Route, user: String? = nil) -> Response {
        ClusterResponses.forbidden(
            user: user ?? configuration.user, verb: verb, resource: route.resource, resourceName: route.resourceName,
            name: route.name,
            namespace: route.namespace)
    }

    private func dispatch(_ method: String, route: Route, query: [String: String], body: String, watch: Bool)
        async throws -> Response
    {
        guard let resource = route.resource else { throw ClusterFailure.notFound("unknown resource") }
        let labels: LabelSelector
        let fields: LabelSelector
        do {
            labels = try LabelSelector(query["labelSelector"] ?? "")
            fields = try LabelSelector(query["fieldSelector"] ?? "")
        } catch {
            throw ClusterFailure(
                code: 400, reason: "BadRequest", message: "unable to parse requirement: \(error.description)")
        }
        switch (method, route.name, route.subresource) {
        case ("GET", nil, nil) where watch:
            let timeout = Int(query["timeoutSeconds"] ?? "") ?? configuration.defaultWatchTimeoutSeconds
            let bookmarks = query["allowWatchBookmarks"] == "true" || query["allowWatchBookmarks"] == "1"
            return await self.watch(
                resource, namespace: route.namespace, labels: labels, fields: fields, from: query["resourceVersion"],
                timeoutSeconds: timeout,
                bookmarks: bookmarks)
        case ("GET", nil, nil):
            let items = await state.list(resource, namespace: route.namespace, labels: labels, fields: fields)
            let (kind, apiVersion) = Self.listKind(resource)
            return try await page(
                items, kind: kind, apiVersion: apiVersion, query: query,
                resourceVersion: await state.currentResourceVersion)
        case ("GET", let name?, nil):
            guard let object = await state.get(resource, namespace: route.namespace, name: name) else {
                throw ClusterFailure.notFound("\(resource.qualifiedName) \"\(name)\" not found")
            }
            return ClusterResponses.json(object)
        case ("POST", nil, nil) where resource == .jobs:
            guard let namespace = route.namespace else { throw ClusterFailure.notFound("jobs are namespaced") }
            guard let manifest = JSONValue.parse(Array(body.utf8)) else {
                throw ClusterFailure(code: 400, reason: "BadRequest", message: "the body is not a JSON object")
            }
            return ClusterResponses.json(
                try await state.createJob(namespace: namespace, manifest: manifest), status: 201)
        case ("POST", let name?, "binding") where resource == .pods:
            guard let namespace = route.namespace,
                let target = JSONValue.parse(Array(body.utf8))?["target"]?["name"]?.string
            else {
                throw ClusterFailure.invalid("target.name: Required value")
            }
            try await state.bind(namespace: namespace, name: name, node: target)
            return ClusterResponses.json(
                ClusterResponses.status(code: 201, reason: "", message: "").replacingStatus("Success"), status: 201)
        case ("DELETE", let name?, nil) where resource == .jobs:
            let options = JSONValue.parse(Array(body.utf8))
            let propagation = query["propagationPolicy"] ?? options?["propagationPolicy"]?.string
            return ClusterResponses.json(
                try await state.deleteJob(namespace: route.namespace ?? "", name: name, propagation: propagation))
        case ("DELETE", let name?, nil) where resource == .pods:
            return ClusterResponses.json(try await state.deletePod(namespace: route.namespace ?? "", name: name))
        case ("PATCH", let name?, nil) where resource == .nodes:
            guard let patch = JSONValue.parse(Array(body.utf8)) else {
                throw ClusterFailure(code: 400, reason: "BadRequest", message: "the body is not JSON")
            }
            return ClusterResponses.json(try await state.patchNode(name: name, patch: patch))
        default:
            throw ClusterFailure(
                code: 405, reason: "MethodNotAllowed",
                message: "the server does not allow this method on the requested resource")
        }
    }

    private func watch(
        _ resource: SimulatedResource, namespace: String?, labels: LabelSelector, fields: LabelSelector,
        from version: String?,
        timeoutSeconds: Int, bookmarks: Bool
    ) async -> Response {
        let state = self.state
        let bookmarkInterval = configuration.bookmarkInterval
        switch await state.openWatch(resource, namespace: namespace, labels: labels, fields: fields, from: version) {
        case .gone(let message):
            // As the API server does: the watch starts, and its one event says why it ends.
            let line = ClusterState.line(
                type: "ERROR", object: ClusterResponses.status(code: 410, reason: "Expired", message: message))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: line)))
        case .open(let id, let backlog, let stream):
            let seconds = max(1, min(timeoutSeconds, 86_400))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    let timer = Task {
                        try? await Task.sleep(for: .seconds(seconds))
                        await state.endWatch(id)
                    }
                    let bookmarker = Task {
                        while bookmarks, !Task.isCancelled {
                            try? await Task.sleep(for: bookmarkInterval)
                            await state.bookmark(id)
                        }
                    }
                    defer {
                        timer.cancel()
                        bookmarker.cancel()
                    }
                    do {
                        for line in backlog { try await writer.write(ByteBuffer(bytes: line)) }
                        events: for await message in stream {
                            switch message {
                            case .line(let bytes): try await writer.write(ByteBuffer(bytes: bytes))
                            case .end: break events
                            case .abort: throw WatchDropped()
                            }
                        }
                    } catch {
                        await state.endWatch(id)
                        throw error
                    }
                    await state.endWatch(id)
                    try await writer.finish(nil)
                })
        }
    }

    static func listKind(_ resource: SimulatedResource) -> (String, String) {
        switch resource {
        case .pods: ("PodList", "v1")
        case .jobs: ("JobList", "batch/v1")
        case .nodes: ("NodeList", "v1")
        }
    }

    static func verb(method: String, route: Route?, watch: Bool) -> String {
        switch method {
        case "GET": route?.name == nil ? (watch ? "watch" : "list") : "get"
        case "POST": "create"
        case "DELETE": "delete"
        case "PATCH": "patch"
        case "PUT": "update"
        default: method.lowercased()
        }
    }

    /// Splits `/api/v1/namespaces/NS/pods/NAME/binding`, `/apis/batch/v1/namespaces/NS/jobs`,
    /// `/api/v1/nodes/NAME` and the like.
    static func route(_ path: String) -> Route? {
        var parts = path.split(separator: "/").map(String.init)
        if parts.starts(with: ["api", "v1"]) {
            parts.removeFirst(2)
        } else if parts.starts(with: ["apis", "batch", "v1"]) {
            parts.removeFirst(3)
        } else {
            return nil
        }
        var namespace: String?
        if parts.first == "namespaces", parts.count >= 3 {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard let first = parts.first, let resource = SimulatedResource(rawValue: first), parts.count <= 3 else {
            return nil
        }
        guard (resource == .jobs) == path.hasPrefix("/apis/batch/v1/") else { return nil }
        guard (resource == .nodes) == (namespace == nil) || (namespace == nil && parts.count == 1) else { return nil }
        let name = parts.count >= 2 ? parts[1] : nil
        let subresource = parts.count == 3 ? parts[2] : nil
        return Route(
            resource: resource, resourceName: subresource.map { "\(first)/\($0)" } ?? first, namespace: namespace,
            name: name,
            subresource: subresource)
    }
}

extension JSONValue {
    fileprivate func replacingStatus(_ status: String) -> JSONValue {
        guard var object else { return self }
        object["status"] = .string(status)
        return .object(object)
    }
}

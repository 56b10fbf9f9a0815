import Foundation
import Hummingbird
import JSON

extension ClusterResponder {
    /// A request under `/apis/metrics.k8s.io`: the resource metrics API that metrics-server
    /// adds to the API server through an APIService.
    struct MetricsRoute {
        /// What the path names.
        enum Target {
            /// `/apis/metrics.k8s.io`: the APIGroup.
            case group
            /// `/apis/metrics.k8s.io/v1beta1`: the APIResourceList.
            case resources
            /// `.../nodes[/NAME]`.
            case nodes(name: String?)
            /// `.../[namespaces/NS/]pods[/NAME]`.
            case pods(namespace: String?, name: String?)
            /// Anything else under the group: 404.
            case unknown
        }

        static let group = "metrics.k8s.io"
        static let prefix = "/apis/metrics.k8s.io"
        /// The names RBAC permissions and faults key these resources by: the resource and its
        /// group, as `nodes` and `pods` of the core group already have the plain names.
        static let nodesResource = "nodes.metrics.k8s.io"
        static let podsResource = "pods.metrics.k8s.io"

        var target: Target

        /// The route of `path`, or nil when it is not under `/apis/metrics.k8s.io`.
        init?(_ path: String) {
            guard path == Self.prefix || path.hasPrefix(Self.prefix + "/") else { return nil }
            let parts = path.dropFirst(Self.prefix.count).split(separator: "/").map(String.init)
            switch parts.count {
            case 0: target = .group
            case 1 where parts[0] == "v1beta1": target = .resources
            case 2 where parts[0] == "v1beta1" && parts[1] == "nodes": target = .nodes(name: nil)
            case 3 where parts[0] == "v1beta1" && parts[1] == "nodes": target = .nodes(name: parts[2])
            case 2 where parts[0] == "v1beta1" && parts[1] == "pods": target = .pods(namespace: nil, name: nil)
            case 4 where parts[0] == "v1beta1" && parts[1] == "namespaces" && parts[3] == "pods":
                target = .pods(namespace: parts[2], name: nil)
            case 5 where parts[0] == "v1beta1" && parts[1] == "namespaces" && parts[3] == "pods":
                target = .pods(namespace: parts[2], name: parts[4])
            default: target = .unknown
            }
        }

        /// The resource's RBAC name (`nodes.metrics.k8s.io`), "" for discovery and unknown paths.
        var resource: String {
            switch target {
            case .nodes: Self.nodesResource
            case .pods: Self.podsResource
            case .group, .resources, .unknown: ""
            }
        }

        var namespace: String? {
            if case .pods(let namespace, _) = target { return namespace }
            return nil
        }

        var name: String? {
            switch target {
            case .nodes(let name): name
            case .pods(_, let name): name
            default: nil
            }
        }

        /// `get` for one object and for discovery, `list` for a collection, `watch` when asked.
        func verb(method: String, watch: Bool) -> String {
            switch target {
            case .nodes(_?), .pods(_, _?): method == "GET" ? "get" : method.lowercased()
            case .nodes, .pods: method == "GET" ? (watch ? "watch" : "list") : method.lowercased()
            case .group, .resources, .unknown: method == "GET" ? "get" : method.lowercased()
            }
        }
    }

    /// Answers a metrics request as an API server with metrics-server behind it would: faults
    /// first, then RBAC (authorization comes before routing, so a caller without the grant
    /// gets 403 whether or not the API is installed), then 404 for every path when no
    /// metrics-server is configured, then the metrics of the model.
    func answerMetrics(
        _ route: MetricsRoute, request: Request, caller: Caller, verb: String, query: [String: String], body: String
    ) async -> Response {
        let probe = RecordedRequest(
            method: request.method.rawValue, path: request.uri.path, query: query, body: body, verb: verb,
            resource: route.resource, namespace: route.namespace, name: route.name, status: 0)
        if let fault = await state.withFaults({ $0.take(for: probe) }) {
            if fault.status == 503 {
                // What the aggregator answers while the APIService is unavailable.
                return ClusterResponses.json(
                    ClusterResponses.status(
                        code: 503, reason: "ServiceUnavailable",
                        message: "the server is currently unable to handle the request"),
                    status: 503)
            }
            return faultResponse(fault, query: query) {
                metricsForbidden(route, verb: verb, user: configuration.user)
            }
        }
        if !route.resource.isEmpty {
            let refused = await state.withFaults { $0.forbidden.contains("\(verb) \(route.resource)") }
            if refused || !Self.allows(caller.permissions, verb: verb, resource: route.resource) {
                return metricsForbidden(route, verb: verb, user: caller.user)
            }
        }
        let notFound = ClusterResponses.failure(.notFound("the server could not find the requested resource"))
        guard let model = configuration.metrics else { return notFound }
        guard request.method == .get, query["watch"] != "1", query["watch"] != "true" else {
            return ClusterResponses.failure(
                ClusterFailure(
                    code: 405, reason: "MethodNotAllowed",
                    message: "the server does not allow this method on the requested resource"))
        }
        let labels: LabelSelector
        do {
            labels = try LabelSelector(query["labelSelector"] ?? "")
        } catch {
            return ClusterResponses.failure(
                ClusterFailure(
                    code: 400, reason: "BadRequest", message: "unable to parse requirement: \(error.description)"))
        }
        switch route.target {
        case .group:
            return ClusterResponses.json(Self.metricsGroup)
        case .resources:
            return ClusterResponses.json(Self.metricsResources)
        case .unknown:
            return notFound
        case .nodes(let name):
            let items = await state.nodeMetrics(model: model, name: name, labels: name == nil ? labels : .everything)
            return Self.metricsAnswer(items, name: name, kind: "NodeMetrics", notFound: "nodemetrics", key: name)
        case .pods(let namespace, let name):
            let items = await state.podMetrics(
                model: model, namespace: namespace, name: name, labels: name == nil ? labels : .everything)
            return Self.metricsAnswer(
                items, name: name, kind: "PodMetrics", notFound: "podmetrics",
                key: name.map { "\(namespace ?? "")/\($0)" })
        }
    }

    /// A list (`NodeMetricsList`), or the one object asked for (its `kind` and `apiVersion`
    /// set, as a single GET has them) or metrics-server's 404.
    private static func metricsAnswer(_ items: [JSONValue], name: String?, kind: String, notFound: String, key: String?)
        -> Response
    {
        guard name != nil else {
            return ClusterResponses.json([
                "kind": .string(kind + "List"), "apiVersion": .string(ClusterState.metricsAPIVersion), "metadata": [:],
                "items": .array(items),
            ])
        }
        guard var object = items.first?.object else {
            return ClusterResponses.failure(.notFound("\(notFound).\(MetricsRoute.group) \"\(key ?? "")\" not found"))
        }
        object["kind"] = .string(kind)
        object["apiVersion"] = .string(ClusterState.metricsAPIVersion)
        return ClusterResponses.json(.object(object))
    }

    /// 403 in the API server's words, naming the group.
    private func metricsForbidden(_ route: MetricsRoute, verb: String, user: String) -> Response {
        let plain = route.resource.split(separator: ".").first.map(String.init) ?? ""
        let object = route.name.map { "\(route.resource) \"\($0)\"" } ?? route.resource
        var message =
            "\(object) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(plain)\" in API group \"\(MetricsRoute.group)\""
        message += route.namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
        return ClusterResponses.json(
            ClusterResponses.status(code: 403, reason: "Forbidden", message: message), status: 403)
    }

    /// `GET /apis/metrics.k8s.io`.
    static let metricsGroup: JSONValue = [
        "kind": "APIGroup", "apiVersion": "v1", "name": "metrics.k8s.io",
        "versions": [["groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"]],
        "preferredVersion": ["groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"],
    ]

    /// `GET /apis/metrics.k8s.io/v1beta1`: metrics-server's two resources.
    static let metricsResources: JSONValue = [
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
        "resources": [
            [
                "name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics",
                "verbs": ["get", "list"],
            ],
            ["name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]],
        ],
    ]
}

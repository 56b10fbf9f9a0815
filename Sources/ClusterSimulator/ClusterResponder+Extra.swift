import Foundation
import Hummingbird
import JSON
import NIOCore

extension ClusterResponder {
    /// The requests beyond nodes, Jobs and pods: the version, access reviews, objects of other
    /// kinds and the service proxy.
    enum ExtraRoute {
        case version
        case selfSubjectAccessReview
        case object(resource: String, namespace: String?, name: String?)
        case serviceProxy(namespace: String, service: String, path: String)

        /// The RBAC verb of a request on this route.
        func verb(method: String) -> String {
            switch self {
            case .version, .serviceProxy: "get"
            case .selfSubjectAccessReview: "create"
            case .object(_, _, let name): method == "GET" ? (name == nil ? "list" : "get") : method.lowercased()
            }
        }

        /// The resource RBAC names.
        var resource: String {
            switch self {
            case .version: ""
            case .selfSubjectAccessReview: "selfsubjectaccessreviews"
            case .object(let resource, _, _): resource
            case .serviceProxy: "services/proxy"
            }
        }

        var namespace: String? {
            switch self {
            case .object(_, let namespace, _): namespace
            case .serviceProxy(let namespace, _, _): namespace
            default: nil
            }
        }

        var name: String? {
            switch self {
            case .object(_, _, let name): name
            case .serviceProxy(_, let service, _): service
            default: nil
            }
        }
    }

    /// Who a request acts as, and what that user may do (nil: everything).
    struct Caller {
        var user: String
        var permissions: [String: Set<String>]?
    }

    /// A request refused before it is answered.
    struct Refusal: Error {
        var response: Response
    }

    /// `/version`, `/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`,
    /// `/api/v1/namespaces/NS/services/NAME/proxy/PATH` and any other
    /// `/api/v1/[namespaces/NS/]RESOURCE[/NAME]` or `/apis/GROUP/VERSION/...` of an object kind.
    static func extraRoute(_ path: String) -> ExtraRoute? {
        if path == "/version" || path == "/version/" { return .version }
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" { return .selfSubjectAccessReview }
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.starts(with: ["api", "v1"]) {
            parts.removeFirst(2)
        } else if parts.first == "apis", parts.count >= 3 {
            parts.removeFirst(3)
        } else {
            return nil
        }
        var namespace: String?
        if parts.first == "namespaces", parts.count >= 3 {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard let resource = parts.first else { return nil }
        if resource == "services", let namespace, parts.count >= 3, parts[2] == "proxy" {
            return .serviceProxy(
                namespace: namespace, service: parts[1], path: "/" + parts.dropFirst(3).joined(separator: "/"))
        }
        guard parts.count <= 2 else { return nil }
        return .object(resource: resource, namespace: namespace, name: parts.count == 2 ? parts[1] : nil)
    }

    /// Whether `permissions` allow `verb` on `resource`.
    static func allows(_ permissions: [String: Set<String>]?, verb: String, resource: String) -> Bool {
        guard let permissions else { return true }
        let verbs = (permissions[resource] ?? []).union(permissions["*"] ?? [])
        return verbs.contains(verb) || verbs.contains("*")
    }

    /// The caller, or the user it impersonates (`Impersonate-User`) when it may.
    func impersonation(_ request: Request) -> Result<Caller, Refusal> {
        let own = Caller(user: configuration.user, permissions: configuration.permissions)
        guard let user = request.headers.first(where: { $0.name.canonicalName == "impersonate-user" })?.value else {
            return .success(own)
        }
        guard
            Self.allows(own.permissions, verb: "impersonate", resource: "users")
                || Self.allows(own.permissions, verb: "impersonate", resource: "serviceaccounts")
        else {
            let message =
                "users \"\(user)\" is forbidden: User \"\(own.user)\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
            return .failure(
                Refusal(
                    response: ClusterResponses.json(
                        ClusterResponses.status(code: 403, reason: "Forbidden", message: message), status: 403)))
        }
        return .success(Caller(user: user, permissions: configuration.subjects[user] ?? [:]))
    }

    func answerExtra(
        _ route: ExtraRoute, request: Request, caller: Caller, query: [String: String], body: String
    ) async -> Response {
        switch route {
        case .version:
            return ClusterResponses.json(Self.versionInfo(configuration.serverVersion))
        case .selfSubjectAccessReview:
            guard request.method == .post, let review = JSONValue.parse(Array(body.utf8)),
                let attributes = review["spec"]?["resourceAttributes"]
            else {
                return ClusterResponses.failure(ClusterFailure.invalid("spec.resourceAttributes: Required value"))
            }
            let verb = attributes["verb"]?.string ?? ""
            var resource = attributes["resource"]?.string ?? ""
            if let sub = attributes["subresource"]?.string, !sub.isEmpty { resource += "/\(sub)" }
            // The metrics API's resources are keyed with their group (core has the plain names).
            if attributes["group"]?.string == MetricsRoute.group { resource += ".\(MetricsRoute.group)" }
            let allowed = Self.allows(caller.permissions, verb: verb, resource: resource)
            guard var answer = review.object else { return ClusterResponses.failure(.invalid("not an object")) }
            answer["status"] = [
                "allowed": .bool(allowed),
                "reason": .string(allowed ? "RBAC: allowed" : ""),
            ]
            return ClusterResponses.json(.object(answer), status: 201)
        case .serviceProxy(let namespace, let service, let path):
            guard Self.allows(caller.permissions, verb: "get", resource: "services/proxy") else {
                return ClusterResponses.forbidden(
                    user: caller.user, verb: "get", resource: nil, resourceName: "services/proxy", name: service,
                    namespace: namespace)
            }
            guard let answer = await configuration.serviceProxy?(namespace, service, path) else {
                return ClusterResponses.json(
                    ClusterResponses.status(
                        code: 503, reason: "ServiceUnavailable",
                        message: "no endpoints available for service \"\(service)\""),
                    status: 503)
            }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
        case .object(let resource, let namespace, let name):
            let verb = route.verb(method: request.method.rawValue)
            guard Self.allows(caller.permissions, verb: verb, resource: resource) else {
                return ClusterResponses.forbidden(
                    user: caller.user, verb: verb, resource: nil, resourceName: resource, name: name,
                    namespace: namespace)
            }
            guard request.method == .get else {
                return ClusterResponses.failure(
                    ClusterFailure(
                        code: 405, reason: "MethodNotAllowed",
                        message: "the server does not allow this method on the requested resource"))
            }
            if let name {
                guard let object = await state.object(resource: resource, namespace: namespace, name: name) else {
                    return ClusterResponses.failure(.notFound("\(resource) \"\(name)\" not found"))
                }
                return ClusterResponses.json(object)
            }
            let items = await state.objectList(resource: resource, namespace: namespace)
            do {
                return try await page(
                    items, kind: "List", apiVersion: "v1", query: query,
                    resourceVersion: await state.currentResourceVersion)
            } catch let failure as ClusterFailure {
                return ClusterResponses.failure(failure)
            } catch {
                return ClusterResponses.failure(.invalid("\(error)"))
            }
        }
    }

    /// `{"major":"1","minor":"33","gitVersion":"v1.33.4+k3s1",...}`.
    static func versionInfo(_ gitVersion: String) -> JSONValue {
        let numbers = gitVersion.drop { !$0.isNumber }.split(whereSeparator: { !$0.isNumber }).prefix(2).map(
            String.init)
        return [
            "major": .string(numbers.first ?? "1"), "minor": .string(numbers.count > 1 ? numbers[1] : "0"),
            "gitVersion": .string(gitVersion), "platform": "linux/amd64",
        ]
    }

    /// One page of a list (`limit`, `continue`), as the API server cuts them: the continue
    /// token names the list's version and the offset, and is `410 Gone` once that version has
    /// left the history.
    func page(_ items: [JSONValue], kind: String, apiVersion: String, query: [String: String], resourceVersion: String)
        async throws -> Response
    {
        var start = 0
        var version = resourceVersion
        if let token = query["continue"], !token.isEmpty {
            guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
                let slash = text.firstIndex(of: "/"), let listed = Int(text[..<slash]),
                let offset = Int(text[text.index(after: slash)...]), offset >= 0
            else {
                throw ClusterFailure(code: 400, reason: "BadRequest", message: "continue key is not valid")
            }
            guard await state.isReplayable(listed) else {
                throw ClusterFailure(
                    code: 410, reason: "Expired",
                    message: "The provided continue parameter is too old to display a consistent list result.")
            }
            start = offset
            version = String(listed)
        }
        var metadata: [String: JSONValue] = ["resourceVersion": .string(version)]
        var page = Array(items.dropFirst(start))
        if let text = query["limit"], let limit = Int(text), limit > 0, page.count > limit {
            page = Array(page.prefix(limit))
            let next = "\(version)/\(start + limit)"
            metadata["continue"] = .string(Data(next.utf8).base64EncodedString())
            metadata["remainingItemCount"] = .integer(Int64(exactly: items.count - start - limit) ?? 0)
        }
        return ClusterResponses.json([
            "kind": .string(kind), "apiVersion": .string(apiVersion), "metadata": .object(metadata),
            "items": .array(page),
        ])
    }
}

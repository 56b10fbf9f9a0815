/// The faults the simulated API injects on request, so that clients can be tested against
/// what real API servers do under load, on RBAC misconfiguration, or on a restart.
struct ClusterFaults: Sendable {
    /// A fault for the next `remaining` requests that match.
    struct Scripted: Sendable {
        var remaining: Int
        var match: RequestMatch
        var status: Int
        var retryAfter: String?
    }

    /// A fault for every request that matches, until it is lifted.
    struct Outage: Sendable {
        var match: RequestMatch
        var status: Int
    }

    var scripted: [Scripted] = []
    /// Outages in force, oldest first.
    var outages: [Outage] = []
    /// `(verb, resource)` pairs refused with 403 on top of the configured permissions.
    var forbidden: Set<String> = []

    /// The scripted answer for `request`, counting it down, or that of an outage it falls in.
    mutating func take(for request: RecordedRequest) -> Scripted? {
        guard let index = scripted.firstIndex(where: { $0.remaining > 0 && $0.match.matches(request) }) else {
            return outages.first { $0.match.matches(request) }.map {
                Scripted(remaining: 0, match: $0.match, status: $0.status, retryAfter: nil)
            }
        }
        scripted[index].remaining -= 1
        let fault = scripted[index]
        if scripted[index].remaining == 0 { scripted.remove(at: index) }
        return fault
    }
}

/// Which requests a fault applies to.
public struct RequestMatch: Sendable, Equatable {
    /// The RBAC verb (`get`, `list`, `watch`, `create`, `delete`, `patch`), nil for any.
    public var verb: String?
    /// The resource (`jobs`, `pods`, `nodes`, `nodes.metrics.k8s.io`), nil for any.
    public var resource: String?
    /// A query parameter the request must have (`continue`: the later pages of a list), nil
    /// for any request.
    public var queryKey: String?

    /// Matches requests with this verb and resource (nil: any), and the query parameter.
    public init(verb: String? = nil, resource: String? = nil, queryKey: String? = nil) {
        self.verb = verb
        self.resource = resource
        self.queryKey = queryKey
    }

    /// Every request.
    public static let any = RequestMatch()

    /// Requests of node metrics (`/apis/metrics.k8s.io/v1beta1/nodes...`).
    public static let nodeMetrics = RequestMatch(resource: "nodes.metrics.k8s.io")

    /// Requests of pod metrics (`/apis/metrics.k8s.io/v1beta1/[namespaces/NS/]pods...`).
    public static let podMetrics = RequestMatch(resource: "pods.metrics.k8s.io")

    func matches(_ request: RecordedRequest) -> Bool {
        (verb == nil || verb == request.verb) && (resource == nil || resource == request.resource)
            && (queryKey.map { request.query[$0] != nil } ?? true)
    }
}

/// One request the simulated API received.
public struct RecordedRequest: Sendable, Equatable {
    /// `GET`, `POST`, ...
    public var method: String
    /// The path without the query.
    public var path: String
    /// The query parameters, decoded.
    public var query: [String: String]
    /// The body as text.
    public var body: String
    /// The RBAC verb the request needs (`get`, `list`, `watch`, `create`, `delete`, `patch`).
    public var verb: String
    /// The resource it names (`jobs`, `pods`, `nodes`; `pods/binding`; `pods.metrics.k8s.io`),
    /// or "" for others.
    public var resource: String
    /// The namespace, if any.
    public var namespace: String?
    /// The object's name, for requests on one object.
    public var name: String?
    /// The answer's status code (0 while unanswered).
    public var status: Int
}

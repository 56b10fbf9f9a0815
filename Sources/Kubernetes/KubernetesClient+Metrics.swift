import JSON

extension KubernetesClient {
    /// Where the resource metrics API (metrics-server, what `kubectl top` reads) is served.
    public static let metricsAPIPath = "/apis/metrics.k8s.io/v1beta1"

    /// `GET /apis/metrics.k8s.io/v1beta1/nodes`: every node's CPU usage, with the count of
    /// objects skipped as malformed. Without metrics-server the API server answers 404
    /// (``KubernetesRequestError/isMissingMetricsAPI``); while its APIService is unavailable, 503.
    public func nodeMetricsList() async throws(KubernetesRequestError) -> NodeMetricsList {
        // metrics-server answers a whole list (it ignores `limit`); the pager accepts either.
        let listed = try await list(path: Self.metricsAPIPath + "/nodes")
        return NodeMetricsList(objects: listed.items)
    }

    /// Every node's CPU usage (malformed objects skipped: ``nodeMetricsList()`` counts them).
    public func nodeMetrics() async throws(KubernetesRequestError) -> [NodeUsage] {
        try await nodeMetricsList().items
    }

    /// `GET /apis/metrics.k8s.io/v1beta1[/namespaces/NS]/pods`: the CPU usage of every pod
    /// the kubelets still report (running ones), with the count of objects skipped as
    /// malformed.
    public func podMetricsList(namespace: String? = nil) async throws(KubernetesRequestError) -> PodMetricsList {
        var path = Self.metricsAPIPath + "/pods"
        if let namespace {
            guard Self.isSafePathSegment(namespace) else {
                throw KubernetesRequestError(
                    failure: .rejected(
                        APIStatus(code: 0, reason: "Invalid", message: "\"\(namespace)\" is not a valid namespace name")
                    ))
            }
            path = Self.metricsAPIPath + "/namespaces/\(namespace)/pods"
        }
        let listed = try await list(path: path)
        return PodMetricsList(objects: listed.items)
    }

    /// The CPU usage of every running pod, in `namespace` or in all (malformed objects
    /// skipped: ``podMetricsList(namespace:)`` counts them).
    public func podMetrics(namespace: String? = nil) async throws(KubernetesRequestError) -> [PodUsageReport] {
        try await podMetricsList(namespace: namespace).items
    }
}

extension KubernetesRequestError {
    /// For an error of ``KubernetesClient/nodeMetrics()`` or
    /// ``KubernetesClient/podMetrics(namespace:)``: the cluster serves no resource metrics
    /// API (metrics-server is not installed, so no APIService registers
    /// `metrics.k8s.io/v1beta1`). The API server then answers 404 without naming an object;
    /// a 404 that names one (`nodes.metrics.k8s.io "x" not found`) is a missing object of an
    /// API that exists. A 503 (the APIService is registered but metrics-server is not ready)
    /// is not this: it passes.
    public var isMissingMetricsAPI: Bool {
        guard let status, status.code == 404 else { return false }
        return !status.message.hasSuffix("\" not found")
    }
}

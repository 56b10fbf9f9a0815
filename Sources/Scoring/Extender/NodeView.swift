/// The extender's own view of the cluster's nodes, for `NodeNames` requests
/// (`nodeCacheCapable: true`), where the scheduler sends names without the Node objects: the
/// power annotations of every node, as a watch on the nodes last saw them. Only annotations
/// matter for scoring, so nothing else of a Node is kept.
public struct NodeView: Sendable, Equatable {
    /// The power annotations (`<prefix>/...`) by node name; every node the view knows is a
    /// key, also one without annotations.
    public var annotations: [String: [String: String]]
    /// Whether the view holds the cluster's nodes: false until the first list arrived.
    public var isSynced: Bool
    /// Why the view is not (or no longer) current, for the diagnostics of the requests it
    /// cannot serve: the watch's last error.
    public var problem: String?

    /// Creates a view.
    public init(annotations: [String: [String: String]] = [:], isSynced: Bool = false, problem: String? = nil) {
        self.annotations = annotations
        self.isSynced = isSynced
        self.problem = problem
    }
}

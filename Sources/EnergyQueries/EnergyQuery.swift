/// The parameters of `GET /api/v1/energy?node=&from=&to=` and of `energy-monitor energy`,
/// validated one way: every node of the store and the last hour by default.
public struct EnergyQuery: Sendable, Equatable {
    /// Nodes to answer for, in the order asked (every node of the store when absent).
    public var nodes: [String]
    /// Window start, unix milliseconds.
    public var fromMilliseconds: Int64
    /// Window end (exclusive), unix milliseconds.
    public var toMilliseconds: Int64

    /// Longest window one HTTP request may integrate: 400 days, the default minute retention.
    public static let maxWindowDays: Int64 = 400
    /// The window when `from` is absent: the last hour (`now-1h`).
    public static let defaultStart = QueryWindow.DefaultStart.beforeNow(milliseconds: 3_600_000)

    /// A query of already validated values.
    public init(nodes: [String], fromMilliseconds: Int64, toMilliseconds: Int64) {
        self.nodes = nodes
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
    }

    /// A query of `window` for the nodes `node` names (comma-separated, each one of
    /// `knownNodes`; all of them when absent).
    public init(node: String?, window: QueryWindow, knownNodes: [String]) throws(QueryError) {
        self.init(
            nodes: try NodeSelection.nodes(node, known: knownNodes), fromMilliseconds: window.fromMilliseconds,
            toMilliseconds: window.toMilliseconds)
    }

    /// Validates raw parameters (nil when absent): `from` and `to` as RFC 3339, unix
    /// seconds, `now` or `now-1h` (defaults `now-1h` and `now`), then `node`.
    /// - Parameter maxWindowDays: the longest window, nil for none (the command line, whose
    ///   user pays for a long one alone).
    public init(
        node: String?, from: String?, to: String?, knownNodes: [String], nowMilliseconds: Int64,
        maxWindowDays: Int64? = EnergyQuery.maxWindowDays
    ) throws(QueryError) {
        let window = try Self.window(from: from, to: to, nowMilliseconds: nowMilliseconds, maxWindowDays: maxWindowDays)
        try self.init(node: node, window: window, knownNodes: knownNodes)
    }

    /// Validates `from` and `to` alone, for a caller that checks them before it opens the store.
    public static func window(
        from: String?, to: String?, nowMilliseconds: Int64, maxWindowDays: Int64? = EnergyQuery.maxWindowDays
    ) throws(QueryError) -> QueryWindow {
        try QueryWindow(
            from: from, to: to, defaultStart: defaultStart, maxDays: maxWindowDays, nowMilliseconds: nowMilliseconds)
    }
}

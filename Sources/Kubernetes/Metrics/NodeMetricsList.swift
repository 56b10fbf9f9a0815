import JSON

/// The nodes of a `NodeMetricsList` that could be read, and how many could not.
public struct NodeMetricsList: Sendable, Equatable {
    /// The nodes read, in the server's order.
    public var items: [NodeUsage]
    /// Objects skipped for a missing or malformed name, timestamp, window or CPU usage.
    public var skipped: Int

    /// Creates a list.
    public init(items: [NodeUsage], skipped: Int) {
        self.items = items
        self.skipped = skipped
    }

    /// Reads the `items` of a list; each object that is not a well-formed `NodeMetrics` counts
    /// as skipped.
    public init(objects: [JSONValue]) {
        let items = objects.compactMap(NodeUsage.init(json:))
        self.init(items: items, skipped: objects.count - items.count)
    }
}

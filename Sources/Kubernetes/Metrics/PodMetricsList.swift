import JSON

/// The pods of a `PodMetricsList` that could be read, and how many could not.
public struct PodMetricsList: Sendable, Equatable {
    /// The pods read, in the server's order.
    public var items: [PodUsageReport]
    /// Objects skipped for a missing or malformed name, namespace, timestamp, window or
    /// container usage.
    public var skipped: Int

    /// Creates a list.
    public init(items: [PodUsageReport], skipped: Int) {
        self.items = items
        self.skipped = skipped
    }

    /// Reads the `items` of a list; each object that is not a well-formed `PodMetrics` counts
    /// as skipped.
    public init(objects: [JSONValue]) {
        let items = objects.compactMap(PodUsageReport.init(json:))
        self.init(items: items, skipped: objects.count - items.count)
    }
}

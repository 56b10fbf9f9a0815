/// Reads figures back out of Prometheus text exposition (format 0.0.4): one series' value,
/// sums of a metric's samples and histogram quantiles. Used by `energy-monitor bench` on the
/// service's own `/metrics`, the way Prometheus' `histogram_quantile` would read it, and by
/// the tests on every `/metrics` they scrape.
public struct ExpositionReader: Sendable {
    /// One histogram bucket: its upper bound (`le`, +infinity for the last) and the
    /// cumulative count of observations at or below it.
    public struct Bucket: Sendable, Equatable {
        /// The `le` label value.
        public var upperBound: Double
        /// Observations at or below `upperBound`.
        public var cumulativeCount: Double

        /// Creates a bucket.
        public init(upperBound: Double, cumulativeCount: Double) {
            self.upperBound = upperBound
            self.cumulativeCount = cumulativeCount
        }
    }

    /// The sample lines (`name{labels} value`) as written, comments and empty lines dropped.
    public let lines: [String]
    private let samples: [(series: Substring, name: Substring, labels: Substring, value: Double)]

    /// Parses the sample lines of `text`; comments and malformed lines are skipped.
    public init(_ text: String) {
        var lines: [String] = []
        var samples: [(series: Substring, name: Substring, labels: Substring, value: Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            lines.append(String(line))
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            if let brace = series.firstIndex(of: "{") {
                samples.append((series, series[..<brace], series[brace...], value))
            } else {
                samples.append((series, series, "", value))
            }
        }
        self.lines = lines
        self.samples = samples
    }

    /// The value of the series `name{labels}`, written exactly as the exposition writes it
    /// (labels in its order); nil if there is no such series.
    public func value(_ series: String) -> Double? {
        samples.first { $0.series == series }?.value
    }

    /// Whether the series `name{labels}` is there, written as `value(_:)` takes it.
    public func has(_ series: String) -> Bool { value(series) != nil }

    /// The sum of every sample of metric `name` (over all label sets), nil if there is none.
    public func sum(_ name: String) -> Double? {
        var total: Double?
        for sample in samples where sample.name == name {
            total = (total ?? 0) + sample.value
        }
        return total
    }

    /// The values of label `label` over the samples of metric `name`, in the exposition's
    /// order, each once (e.g. the nodes of `energy_monitor_plug_up`).
    public func labelValues(_ name: String, label: String) -> [String] {
        var seen: Set<String> = []
        var values: [String] = []
        for sample in samples where sample.name == name {
            // Only a whole label name: `node=` must not match inside `parent_node=`.
            guard
                let range = sample.labels.ranges(of: label + "=\"").first(where: {
                    let before = sample.labels[..<$0.lowerBound].last
                    return before == "{" || before == ","
                })
            else { continue }
            let rest = sample.labels[range.upperBound...]
            guard let quote = rest.firstIndex(of: "\"") else { continue }
            let value = String(rest[..<quote])
            if seen.insert(value).inserted { values.append(value) }
        }
        return values
    }

    /// The buckets of histogram `name`, summed over its label sets, by upper bound.
    public func buckets(_ name: String) -> [Bucket] {
        let bucketName = name + "_bucket"
        var counts: [Double: Double] = [:]
        for sample in samples where sample.name == bucketName {
            guard let range = sample.labels.firstRange(of: "le=\"") else { continue }
            let rest = sample.labels[range.upperBound...]
            guard let quote = rest.firstIndex(of: "\"") else { continue }
            let text = rest[..<quote]
            guard let bound = text == "+Inf" ? Double.infinity : Double(text) else { continue }
            counts[bound, default: 0] += sample.value
        }
        return counts.map { Bucket(upperBound: $0.key, cumulativeCount: $0.value) }.sorted {
            $0.upperBound < $1.upperBound
        }
    }

    /// The bucket-wise difference `later - earlier`: the observations made between two scrapes.
    public static func difference(_ later: [Bucket], _ earlier: [Bucket]) -> [Bucket] {
        var before: [Double: Double] = [:]
        for bucket in earlier { before[bucket.upperBound] = bucket.cumulativeCount }
        return later.map {
            Bucket(upperBound: $0.upperBound, cumulativeCount: $0.cumulativeCount - (before[$0.upperBound] ?? 0))
        }
    }

    /// The `q` quantile (0...1) of a histogram, interpolated linearly inside the bucket that
    /// holds it (from 0 for the first bucket), as Prometheus' `histogram_quantile` does. Nil
    /// without observations; the largest finite bound when the quantile lies in the +Inf bucket.
    public static func quantile(_ q: Double, of buckets: [Bucket]) -> Double? {
        let sorted = buckets.sorted { $0.upperBound < $1.upperBound }
        guard let total = sorted.last?.cumulativeCount, total > 0 else { return nil }
        let rank = min(max(q, 0), 1) * total
        var lowerBound = 0.0
        var lowerCount = 0.0
        for bucket in sorted {
            if bucket.cumulativeCount >= rank, bucket.cumulativeCount > lowerCount {
                if bucket.upperBound.isInfinite { return lowerBound }
                let share = (rank - lowerCount) / (bucket.cumulativeCount - lowerCount)
                return lowerBound + (bucket.upperBound - lowerBound) * share
            }
            if bucket.upperBound.isFinite { lowerBound = bucket.upperBound }
            lowerCount = bucket.cumulativeCount
        }
        return lowerBound
    }
}

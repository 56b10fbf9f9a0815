import JSON

/// Every line of one `energy-monitor check` run, as text or JSON, and the exit status.
public struct CheckReport: Sendable {
    /// The checks in the order they ran.
    public var results: [CheckResult]

    /// Creates a report.
    public init(results: [CheckResult]) {
        self.results = results
    }

    /// Whether any check failed: the command then exits non-zero.
    public var failed: Bool { results.contains { $0.status == .fail } }

    /// One line per check and a summary line.
    public var text: String {
        (results.map(\.line) + [summary]).joined(separator: "\n")
    }

    /// `12 checks: 10 ok, 1 warn, 1 fail`.
    public var summary: String {
        let counts = CheckResult.Status.allCases.map { status in results.filter { $0.status == status }.count }
        return "\(results.count) checks: \(counts[0]) ok, \(counts[1]) warn, \(counts[2]) fail"
    }

    /// `{"checks":[...],"ok":N,"warn":N,"fail":N}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["checks": .array(results.map(\.json))]
        for status in CheckResult.Status.allCases {
            object[status.rawValue] = .integer(Int64(results.filter { $0.status == status }.count))
        }
        return .object(object)
    }
}

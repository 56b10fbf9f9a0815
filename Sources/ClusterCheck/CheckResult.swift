import JSON

/// One line of `energy-monitor check`: what was checked, how it stands, and what to do.
public struct CheckResult: Sendable, Equatable {
    /// How a check came out.
    public enum Status: String, Sendable, Equatable, Comparable, CaseIterable {
        /// As it should be.
        case ok
        /// Works, but something deserves a look (the scheduler's version outside the skew
        /// policy, knowledge-base nodes the cluster lacks).
        case warn
        /// Broken: the exit status is non-zero.
        case fail

        private var rank: Int {
            switch self {
            case .ok: 0
            case .warn: 1
            case .fail: 2
            }
        }

        /// `ok` < `warn` < `fail`.
        public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
    }

    /// A stable identifier (`api-server`, `monitor-permissions`, ...), for scripts.
    public var name: String
    /// How it came out.
    public var status: Status
    /// What was found, one line.
    public var message: String
    /// What to do, one line; nil when nothing is to be done.
    public var fix: String?

    /// Creates a result.
    public init(_ name: String, _ status: Status, _ message: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.message = message
        self.fix = status == .ok ? nil : fix
    }

    /// `fail  plug-nodes: ...; fix: ...`.
    public var line: String {
        let label = status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)
        return "\(label) \(name): \(message)" + (fix.map { "; fix: \($0)" } ?? "")
    }

    /// `{"name":…,"status":…,"message":…,"fix":…}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name), "status": .string(status.rawValue), "message": .string(message),
        ]
        object["fix"] = fix.map { .string($0) } ?? .null
        return .object(object)
    }
}

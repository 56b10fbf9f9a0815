import EnergyModel

/// The parameters of `GET /api/v1/power?node=&from=&to=&step=`, validated.
public struct PowerQuery: Sendable, Equatable {
    /// Nodes to answer for, in the order asked (all known nodes when `node` is absent).
    public var nodes: [String]
    /// Window start, unix milliseconds.
    public var fromMilliseconds: Int64
    /// Window end (exclusive), unix milliseconds.
    public var toMilliseconds: Int64
    /// Width of one averaged point, milliseconds.
    public var stepMilliseconds: Int64

    /// Most points one series may have; beyond it the caller must choose a larger step.
    public static let maxPoints: Int64 = 5_000
    /// Longest window one request may ask for (31 days).
    public static let maxWindowMilliseconds: Int64 = 31 * 86_400_000
    /// Smallest step.
    public static let minStepMilliseconds: Int64 = 100
    /// The window when `from` is absent: the last 15 minutes.
    public static let defaultWindowMilliseconds: Int64 = 15 * 60_000
    /// Points per series when `step` is absent.
    public static let defaultPoints: Int64 = 300

    /// Why a query was refused: one line naming the parameter.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The line, e.g. `step: 1ms is below the smallest step 100ms`.
        public var description: String
    }

    /// A query of already validated values.
    public init(nodes: [String], fromMilliseconds: Int64, toMilliseconds: Int64, stepMilliseconds: Int64) {
        self.nodes = nodes
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.stepMilliseconds = stepMilliseconds
    }

    /// Validates raw query parameters (nil when absent).
    /// - Parameters:
    ///   - knownNodes: the nodes this service monitors; other names are refused.
    ///   - nowMilliseconds: the time `now` stands for, and the default `to`.
    public init(
        node: String?,
        from: String?,
        to: String?,
        step: String?,
        knownNodes: [String],
        nowMilliseconds: Int64
    ) throws(Failure) {
        if let node, !node.isEmpty {
            var names: [String] = []
            for name in node.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingSpaces() }
            ) {
                guard !name.isEmpty else { throw Failure(description: "node: empty name in \"\(node)\"") }
                guard knownNodes.contains(name) else {
                    throw Failure(
                        description: "node: unknown node \"\(name)\" (known: \(knownNodes.joined(separator: ", ")))")
                }
                if !names.contains(name) { names.append(name) }
            }
            nodes = names
        } else {
            nodes = knownNodes
        }
        toMilliseconds = try Self.time(to, "to", nowMilliseconds: nowMilliseconds) ?? nowMilliseconds
        fromMilliseconds =
            try Self.time(from, "from", nowMilliseconds: nowMilliseconds)
            ?? toMilliseconds - Self.defaultWindowMilliseconds
        guard fromMilliseconds < toMilliseconds else {
            throw Failure(description: "from: must be before to")
        }
        let window = toMilliseconds - fromMilliseconds
        guard window <= Self.maxWindowMilliseconds else {
            throw Failure(description: "from: the window is longer than 31 days")
        }
        if let step, !step.isEmpty {
            stepMilliseconds = try Self.duration(step)
            guard stepMilliseconds >= Self.minStepMilliseconds else {
                throw Failure(description: "step: \(step) is below the smallest step 100ms")
            }
        } else {
            stepMilliseconds = max(Self.minStepMilliseconds, (window + Self.defaultPoints - 1) / Self.defaultPoints)
        }
        let points = (window + stepMilliseconds - 1) / stepMilliseconds
        guard points <= Self.maxPoints else {
            throw Failure(
                description:
                    "step: \(step ?? "") gives \(points) points per series; at most \(Self.maxPoints), choose a larger step"
            )
        }
    }

    private static func time(_ text: String?, _ name: String, nowMilliseconds: Int64) throws(Failure) -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try TimeParsing.milliseconds(text, nowMilliseconds: nowMilliseconds)
        } catch {
            throw Failure(description: "\(name): \(error.description)")
        }
    }

    /// `5s`, `1m30s` or plain seconds (`5`, `0.5`), as Prometheus' `step` accepts.
    private static func duration(_ text: String) throws(Failure) -> Int64 {
        let trimmed = text.trimmingSpaces()
        if let seconds = Double(trimmed), seconds.isFinite, trimmed.first?.isNumber == true {
            guard seconds < 1e9, let milliseconds = Int64(rounding: seconds * 1000) else {
                throw Failure(description: "step: \(text) is too large")
            }
            return milliseconds
        }
        do {
            return try DurationParsing.milliseconds(trimmed)
        } catch {
            throw Failure(description: "step: \(error.description)")
        }
    }
}

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
    /// Longest window one request may ask for.
    public static let maxWindowDays: Int64 = 31
    /// Smallest step.
    public static let minStepMilliseconds: Int64 = 100
    /// The window when `from` is absent: the 15 minutes before `to`.
    public static let defaultWindowMilliseconds: Int64 = 15 * 60_000
    /// Points per series when `step` is absent.
    public static let defaultPoints: Int64 = 300

    /// A query of already validated values.
    public init(nodes: [String], fromMilliseconds: Int64, toMilliseconds: Int64, stepMilliseconds: Int64) {
        self.nodes = nodes
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.stepMilliseconds = stepMilliseconds
    }

    /// Validates raw query parameters (nil when absent), in the order `from`, `to`, `node`,
    /// `step`.
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
    ) throws(QueryError) {
        let window = try QueryWindow(
            from: from, to: to, defaultStart: .beforeEnd(milliseconds: Self.defaultWindowMilliseconds),
            maxDays: Self.maxWindowDays, nowMilliseconds: nowMilliseconds)
        nodes = try NodeSelection.nodes(node, known: knownNodes)
        fromMilliseconds = window.fromMilliseconds
        toMilliseconds = window.toMilliseconds
        if let step, !step.isEmpty {
            stepMilliseconds = try Self.duration(step)
            guard stepMilliseconds >= Self.minStepMilliseconds else {
                throw QueryError(.step, "\(step) is below the smallest step 100ms")
            }
        } else {
            stepMilliseconds = max(
                Self.minStepMilliseconds, (window.milliseconds + Self.defaultPoints - 1) / Self.defaultPoints)
        }
        let points = (window.milliseconds + stepMilliseconds - 1) / stepMilliseconds
        guard points <= Self.maxPoints else {
            throw QueryError(
                .step,
                "\(step ?? "") gives \(points) points per series; at most \(Self.maxPoints), choose a larger step")
        }
    }

    /// `5s`, `1m30s` or plain seconds (`5`, `0.5`), as Prometheus' `step` accepts.
    private static func duration(_ text: String) throws(QueryError) -> Int64 {
        let trimmed = text.trimmingSpaces()
        if let seconds = Double(trimmed), seconds.isFinite, trimmed.first?.isNumber == true {
            guard seconds < 1e9, let milliseconds = Int64(rounding: seconds * 1000) else {
                throw QueryError(.step, "\(text) is too large")
            }
            return milliseconds
        }
        do {
            return try DurationParsing.milliseconds(trimmed)
        } catch {
            throw QueryError(.step, error.description)
        }
    }
}

import CurlClient
import EnergyModel
import Logging

/// Everything one tick produced.
public struct TickReport: Sendable {
    /// The wall-clock boundary of the tick, unix milliseconds.
    public var tickMilliseconds: Int64
    /// How late the tick started after its boundary, in milliseconds.
    public var startLatencyMilliseconds: Double
    /// Ticks skipped before this one because the previous tick overran (0 normally).
    public var skippedTicks: Int
    /// One outcome per plug.
    public var outcomes: [PlugOutcome]

    /// Creates a report.
    public init(tickMilliseconds: Int64, startLatencyMilliseconds: Double, skippedTicks: Int, outcomes: [PlugOutcome]) {
        self.tickMilliseconds = tickMilliseconds
        self.startLatencyMilliseconds = startLatencyMilliseconds
        self.skippedTicks = skippedTicks
        self.outcomes = outcomes
    }
}

/// The 1 Hz poll loop: at every wall-clock interval boundary every plug is polled
/// concurrently, each with a timeout below the interval, so a slow or dead plug costs only
/// its own sample and never delays the next tick.
public struct PollLoop: Sendable {
    /// Tick interval in milliseconds.
    public let intervalMilliseconds: Int64
    /// Per-poll timeout in milliseconds (always below the interval).
    public let timeoutMilliseconds: Int
    private let sessions: [PlugSession]
    /// Whether some node has several meters (their outcomes are combined per node).
    private let hasMeters: Bool
    private let logger: Logger

    /// Creates the loop.
    public init(
        plugs: [PlugConfiguration],
        intervalMilliseconds: Int64,
        client: CurlMultiClient,
        validator: ReadingValidator = ReadingValidator(),
        logger: Logger
    ) {
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = Self.timeout(forInterval: intervalMilliseconds)
        self.sessions = plugs.map { PlugSession(plug: $0, client: client, validator: validator, logger: logger) }
        self.hasMeters = plugs.contains { $0.meter != nil }
        self.logger = logger
    }

    /// The per-poll timeout for an interval: 80 %, leaving time to store before the next tick.
    public static func timeout(forInterval interval: Int64) -> Int {
        Int(max(50, interval * 8 / 10))
    }

    /// Runs until the task is cancelled, handing every tick's report to `onTick`, which must
    /// not block (hand the work to another task). The tick in flight when the task is
    /// cancelled is not reported.
    public func run(onTick: @Sendable (TickReport) -> Void) async {
        let intervalNanoseconds = intervalMilliseconds * 1_000_000
        var previousTick: Int64?
        while !Task.isCancelled {
            let now = WallClock.nowNanoseconds()
            let boundary = WallClock.nextBoundary(after: now, intervalNanoseconds: intervalNanoseconds)
            do {
                try await Task.sleep(for: .nanoseconds(boundary - now))
            } catch {
                return
            }
            let latency = Double(WallClock.nowNanoseconds() - boundary) / 1e6
            var skipped = 0
            if let previousTick {
                skipped = max(0, Int((boundary - previousTick) / intervalNanoseconds) - 1)
                if skipped > 0 {
                    logger.warning("ticks skipped", metadata: ["count": "\(skipped)"])
                }
            }
            previousTick = boundary
            let outcomes = await pollAll()
            // A tick cut short by the stop is not reported: its polls were cancelled, which is
            // no plug's failure (they would read as refused connections).
            guard !Task.isCancelled else { return }
            onTick(
                TickReport(
                    tickMilliseconds: boundary / 1_000_000,
                    startLatencyMilliseconds: latency,
                    skippedTicks: skipped,
                    outcomes: outcomes
                )
            )
        }
    }

    /// Polls every plug once, concurrently.
    public func pollAll() async -> [PlugOutcome] {
        let timeout = timeoutMilliseconds
        let sessions = self.sessions
        let groupSize = Self.groupSize
        // Every plug is a child task, but no group holds more than `groupSize` of them: the
        // runtime finds a finished child by walking its group's list of children, so one group
        // of 5,000 costs O(plugs^2) per tick; groups of 64 keep that walk short.
        return await withTaskGroup(of: (Int, [PlugOutcome]).self) { groups in
            for start in stride(from: 0, to: sessions.count, by: groupSize) {
                let end = min(start + groupSize, sessions.count)
                groups.addTask {
                    let outcomes = await withTaskGroup(of: (Int, PlugOutcome).self) { group in
                        for index in start..<end {
                            let session = sessions[index]
                            group.addTask { (index, await session.poll(timeoutMilliseconds: timeout)) }
                        }
                        var outcomes = [PlugOutcome?](repeating: nil, count: end - start)
                        for await (index, outcome) in group {
                            outcomes[index - start] = outcome
                        }
                        return outcomes.compactMap { $0 }
                    }
                    return (start, outcomes)
                }
            }
            var chunks = [[PlugOutcome]](repeating: [], count: (sessions.count + groupSize - 1) / groupSize)
            for await (start, outcomes) in groups {
                chunks[start / groupSize] = outcomes
            }
            let outcomes = chunks.flatMap { $0 }
            return hasMeters ? combineMeters(outcomes) : outcomes
        }
    }

    /// One outcome per node: the meters of a node with several are summed (or a gap).
    private func combineMeters(_ outcomes: [PlugOutcome]) -> [PlugOutcome] {
        var result: [PlugOutcome] = []
        var index = 0
        while index < outcomes.count {
            let node = sessions[index].plug.node
            var end = index
            while end < outcomes.count, sessions[end].plug.node == node { end += 1 }
            if sessions[index].plug.meter != nil {
                let meters = (index..<end).map { (name: sessions[$0].plug.meter ?? "", outcome: outcomes[$0]) }
                result.append(PlugOutcome.combine(node: node, meters: meters))
            } else {
                result.append(contentsOf: outcomes[index..<end])
            }
            index = end
        }
        return result
    }

    /// Plugs per inner task group in `pollAll`.
    static let groupSize = 64
}

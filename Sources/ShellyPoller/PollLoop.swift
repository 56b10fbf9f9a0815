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
    /// How far the wall clock stepped since the previous tick, beyond the monotonic time that
    /// passed (milliseconds; positive forward, 0 when the clocks kept step).
    public var clockStepMilliseconds: Int64

    /// Creates a report.
    public init(
        tickMilliseconds: Int64, startLatencyMilliseconds: Double, skippedTicks: Int, outcomes: [PlugOutcome],
        clockStepMilliseconds: Int64 = 0
    ) {
        self.tickMilliseconds = tickMilliseconds
        self.startLatencyMilliseconds = startLatencyMilliseconds
        self.skippedTicks = skippedTicks
        self.outcomes = outcomes
        self.clockStepMilliseconds = clockStepMilliseconds
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
    let sessions: [PlugSession]
    /// The threads polling runs on, if the loop has its own.
    private let executor: PollExecutor?
    /// Whether some node has several meters (their outcomes are combined per node).
    private let hasMeters: Bool
    private let logger: Logger

    /// Creates the loop. With `executor`, the loop sleeps on its threads: run the loop's task
    /// with that preference, so that polling runs there too.
    /// `pins` are the stored pins (see `PlugPin`), matched to the plugs by node and meter;
    /// `onPin` is called with every pin a session makes or updates, and must not block.
    public init(
        plugs: [PlugConfiguration],
        intervalMilliseconds: Int64,
        client: CurlMultiClient,
        validator: ReadingValidator = ReadingValidator(),
        executor: PollExecutor? = nil,
        pins: [PlugPin] = [],
        onPin: (@Sendable (PlugPin) -> Void)? = nil,
        logger: Logger
    ) {
        self.intervalMilliseconds = intervalMilliseconds
        self.timeoutMilliseconds = Self.timeout(forInterval: intervalMilliseconds)
        self.executor = executor
        self.sessions = plugs.map { plug in
            let pin = pins.first { $0.node == plug.node && $0.meter == plug.meter }
            return PlugSession(
                plug: plug, client: client, validator: validator, pin: pin, onPin: onPin, logger: logger)
        }
        self.hasMeters = plugs.contains { $0.meter != nil }
        self.logger = logger
    }

    /// A difference between the wall clock's and the monotonic clock's progress beyond this
    /// is a step of the wall clock (an NTP step, a clock set by hand, a resumed machine), not
    /// drift or slewing.
    public static let clockStepThresholdNanoseconds: Int64 = 500_000_000

    /// The per-poll timeout for an interval: 80 %, leaving time to store before the next tick.
    public static func timeout(forInterval interval: Int64) -> Int {
        Int(max(50, interval * 8 / 10))
    }

    /// Runs until the task is cancelled, handing every tick's report to `onTick`, which must
    /// not block (hand the work to another task).
    ///
    /// Ticks fall on wall-clock interval boundaries (users line them up with other systems'
    /// clocks), but the waiting is done on the monotonic clock: the next boundary is turned
    /// into a monotonic deadline when the wait starts, so a step of the wall clock during a
    /// wait neither stretches it nor ends it early, and skipped ticks are counted from the
    /// monotonic time between ticks, not from wall-clock stamps (a step of a day forward is
    /// not 86,400 missed ticks). With an executor, the loop sleeps on its threads. The tick in
    /// flight when the task is cancelled is not reported.
    public func run(onTick: @Sendable (TickReport) -> Void) async {
        let intervalNanoseconds = intervalMilliseconds * 1_000_000
        var previousDeadline: Int64?
        // Wall minus monotonic time: constant while the wall clock runs at the monotonic
        // clock's rate (NTP slews it by at most 0.5 ms a second), jumping when it is stepped.
        var previousOffset: Int64?
        while !Task.isCancelled {
            let wall = WallClock.nowNanoseconds()
            let now = MonotonicClock.nowNanoseconds()
            var step: Int64 = 0
            let offset = wall - now
            if let previousOffset, abs(offset - previousOffset) > Self.clockStepThresholdNanoseconds {
                step = (offset - previousOffset) / 1_000_000
            }
            previousOffset = offset
            let boundary = WallClock.nextBoundary(after: wall, intervalNanoseconds: intervalNanoseconds)
            let deadline = now + (boundary - wall)
            do {
                try await PollExecutor.sleep(untilMonotonicNanoseconds: deadline, on: executor)
            } catch {
                return
            }
            let latency = Double(MonotonicClock.nowNanoseconds() - deadline) / 1e6
            var skipped = 0
            if let previousDeadline {
                // Whole intervals of monotonic time between the two deadlines, less this one.
                let elapsed = deadline - previousDeadline
                skipped = max(0, Int((elapsed + intervalNanoseconds / 2) / intervalNanoseconds) - 1)
                if skipped > 0 {
                    logger.warning("ticks skipped", metadata: ["count": "\(skipped)"])
                }
            }
            previousDeadline = deadline
            let outcomes = await pollAll()
            // A tick cut short by the stop is not reported: its polls were cancelled, which is
            // no plug's failure (they would read as refused connections).
            guard !Task.isCancelled else { return }
            onTick(
                TickReport(
                    tickMilliseconds: boundary / 1_000_000,
                    startLatencyMilliseconds: latency,
                    skippedTicks: skipped,
                    outcomes: outcomes,
                    clockStepMilliseconds: step
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

    /// Asks the plug of `node` to read its stored history of `request`'s span at its next
    /// polls (nodes with one meter; see `PlugSession.requestHistory`).
    public func requestHistory(node: String, _ request: HistoryRequest) {
        let matching = sessions.filter { $0.plug.node == node }
        guard matching.count == 1 else { return }
        matching[0].requestHistory(request)
    }
}

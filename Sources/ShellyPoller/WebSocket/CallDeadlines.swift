import EnergyModel
import Synchronization

/// The deadlines of every WebSocket call in flight, watched by one task for all plugs: a
/// timer task per call (5,000 a second at 5,000 plugs) cost more CPU than the calls
/// themselves. A finished call's entry is simply skipped when its time comes.
///
/// The watcher runs on a thread of its own (not the cooperative pool, which a flood of HTTP
/// requests can keep busy for seconds) and keeps monotonic time. When the whole process was
/// held up (a machine out of CPU) past a deadline, the watcher's wake and work that was on
/// time (a reply handed on, a connection that opened) are queued together, and the watcher
/// would often run first: so a watcher that woke late lets the queued work run before it ends
/// any call (`HeldUpClock`). Replies themselves are read on `WebSocketExecutor`'s threads, as
/// an HTTP poll's answer is on the client's own thread, however late the caller resumes.
final class CallDeadlines: Sendable {
    private struct Entry {
        let deadline: Int64
        let socket: any RPCTransport
        let id: Int64
    }

    private struct State {
        var entries: [Entry] = []
        var watching = false
        /// When the watcher wakes next (monotonic nanoseconds), while it sleeps.
        var runWake: Int64 = .max
        /// The looks of their own still to come for calls sooner than any wake planned then.
        var earlyWakes: [Int64] = []

        /// The next look planned: the watcher's or an earlier one of their own.
        var wake: Int64 { min(runWake, earlyWakes.min() ?? .max) }
    }

    /// The least time between two looks of the watcher: a call ends at most this late after
    /// its deadline, and calls whose deadlines are this close are ended in one look.
    static let resolutionNanoseconds: Int64 = 20_000_000
    /// A watcher that wakes this much later than it asked was held up with the process.
    static let stallNanoseconds: Int64 = 100_000_000
    /// How long a process that stays held up is spared: beyond that, calls end anyway.
    static let graceNanoseconds: Int64 = 1_000_000_000
    static let shared = CallDeadlines()
    /// The watcher's thread.
    private static let executor = PollExecutor(threads: 1)

    private let state = Mutex(State())

    /// Ends call `id` of `socket` at `deadline` (monotonic nanoseconds) unless it finished before.
    func watch(_ socket: any RPCTransport, id: Int64, deadline: Int64) {
        enum Start { case watcher, early, none }
        let start = state.withLock { state -> Start in
            state.entries.append(Entry(deadline: deadline, socket: socket, id: id))
            if !state.watching {
                state.watching = true
                return .watcher
            }
            // The watcher sleeps until the earliest deadline it knew of; a sooner one (a call
            // with a shorter time) gets a look of its own. Only looks still to come count: one
            // that happened already covers no later call.
            if deadline < state.wake - Self.resolutionNanoseconds {
                state.earlyWakes.append(deadline)
                return .early
            }
            return .none
        }
        switch start {
        case .watcher:
            Task(executorPreference: Self.executor) { await self.run() }
        case .early:
            Task(executorPreference: Self.executor) {
                await Self.sleep(until: deadline)
                self.state.withLock { state in
                    if let index = state.earlyWakes.firstIndex(of: deadline) { state.earlyWakes.remove(at: index) }
                }
                self.sweep(now: MonotonicClock.nowNanoseconds())
            }
        case .none:
            break
        }
    }

    /// Sleeps until the earliest deadline, ends the calls that are due, and so on while any
    /// call is watched. The calls of a tick share its deadline, so this is one look per tick
    /// (a wake every 20 ms, as before, cost more CPU than three plugs' polls); a finished
    /// call's entry is dropped when its time comes.
    private func run() async {
        var clock = HeldUpClock()
        while true {
            let now = MonotonicClock.nowNanoseconds()
            let wake = state.withLock { state -> Int64? in
                guard let earliest = state.entries.lazy.map(\.deadline).min() else {
                    state.watching = false
                    state.runWake = .max
                    return nil
                }
                state.runWake = max(earliest, now + Self.resolutionNanoseconds)
                return state.runWake
            }
            guard let wake else { return }
            clock.expected = wake
            try? await Self.executor.sleep(untilMonotonicNanoseconds: wake)
            let woke = MonotonicClock.nowNanoseconds()
            // Held up with the process: the work queued meanwhile runs first; the next look
            // comes a resolution later.
            if clock.woke(at: woke) { continue }
            sweep(now: woke)
        }
    }

    /// Ends the calls whose deadline is at or before `now`.
    private func sweep(now: Int64) {
        let due = state.withLock { state -> [Entry] in
            var due: [Entry] = []
            state.entries.removeAll { entry in
                guard entry.deadline <= now else { return false }
                due.append(entry)
                return true
            }
            return due
        }
        for entry in due { entry.socket.deadlinePassed(entry.id) }
    }

    /// Sleeps until `deadline` (monotonic nanoseconds), and on in steps of the resolution
    /// while the process is held up, so that work that was due before the deadline runs first.
    static func sleep(until deadline: Int64) async {
        var clock = HeldUpClock(expected: deadline)
        while true {
            let now = MonotonicClock.nowNanoseconds()
            if now < clock.expected {
                do { try await executor.sleep(untilMonotonicNanoseconds: clock.expected) } catch { return }
                continue
            }
            if !clock.woke(at: now) { return }
        }
    }
}

/// Tells a task that sleeps in steps of `CallDeadlines.resolutionNanoseconds` whether it was
/// just held up with the rest of the process (it woke much later than it asked), in which
/// case it lets the work queued meanwhile run before it ends any call. A process that stays
/// held up longer than `CallDeadlines.graceNanoseconds` gets no more leniency.
struct HeldUpClock {
    /// When the task asked to wake next, monotonic nanoseconds.
    var expected: Int64
    /// Since when every wake has been late, if the latest was.
    private var lateSince: Int64?

    init(expected: Int64 = MonotonicClock.nowNanoseconds() + CallDeadlines.resolutionNanoseconds) {
        self.expected = expected
    }

    /// Records a wake at `now` (the next one is expected a resolution later); returns whether
    /// calls whose deadline has passed are still spared.
    mutating func woke(at now: Int64) -> Bool {
        let late = now - expected > CallDeadlines.stallNanoseconds
        expected = now + CallDeadlines.resolutionNanoseconds
        guard late else {
            lateSince = nil
            return false
        }
        let since = lateSince ?? now
        lateSince = since
        return now - since < CallDeadlines.graceNanoseconds
    }
}

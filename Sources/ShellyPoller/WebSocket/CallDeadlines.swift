import EnergyModel
import Synchronization

/// The deadlines of every WebSocket call in flight, watched by one task for all plugs: a
/// timer task per call (5,000 a second at 5,000 plugs) cost more CPU than the calls
/// themselves. A finished call's entry is simply skipped when its time comes. The task runs
/// on a thread of its own (not the cooperative pool, which a flood of HTTP requests can keep
/// busy for seconds) and keeps monotonic time.
final class CallDeadlines: Sendable {
    private struct Entry {
        let deadline: Int64
        let socket: RPCWebSocket
        let id: Int64
    }

    private struct State {
        var entries: [Entry] = []
        var watching = false
    }

    /// How often the watcher looks: a call ends at most this late after its deadline.
    static let resolutionNanoseconds: Int64 = 20_000_000
    static let shared = CallDeadlines()
    /// The watcher's thread.
    private static let executor = PollExecutor(threads: 1)

    private let state = Mutex(State())

    /// Ends call `id` of `socket` at `deadline` (monotonic nanoseconds) unless it finished before.
    func watch(_ socket: RPCWebSocket, id: Int64, deadline: Int64) {
        let start = state.withLock { state -> Bool in
            state.entries.append(Entry(deadline: deadline, socket: socket, id: id))
            defer { state.watching = true }
            return !state.watching
        }
        if start { Task(executorPreference: Self.executor) { await self.run() } }
    }

    private func run() async {
        while true {
            let now = MonotonicClock.nowNanoseconds() + Self.resolutionNanoseconds
            try? await Self.executor.sleep(untilMonotonicNanoseconds: now)
            let due = state.withLock { state -> [Entry]? in
                if state.entries.isEmpty {
                    state.watching = false
                    return nil
                }
                var due: [Entry] = []
                state.entries.removeAll { entry in
                    guard entry.deadline <= now else { return false }
                    due.append(entry)
                    return true
                }
                return due
            }
            guard let due else { return }
            for entry in due { entry.socket.deadlinePassed(entry.id) }
        }
    }
}

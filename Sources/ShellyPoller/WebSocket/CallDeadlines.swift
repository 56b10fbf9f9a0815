import EnergyModel
import Synchronization

/// The deadlines of every WebSocket call in flight, watched by one task for all plugs: a
/// timer task per call (5,000 a second at 5,000 plugs) cost more CPU than the calls
/// themselves. A finished call's entry is simply skipped when its time comes.
///
/// A reply reaches its call through a few tasks of the cooperative pool, as this watcher
/// does. When the process was held up (every thread of the pool busy) past a deadline, the
/// watcher and a reply that arrived in time wake together, and the watcher would often run
/// first: so a watcher that woke late lets the queued work run before it ends any call, for
/// at most `graceNanoseconds` past the deadline. An HTTP poll is judged the same way: its
/// answer is read on the client's own thread, however late its caller resumes.
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
    /// A watcher that wakes this much later than it asked was held up with the process.
    static let stallNanoseconds: Int64 = 100_000_000
    /// The longest a held-up process delays the end of a call past its deadline.
    static let graceNanoseconds: Int64 = 1_000_000_000
    static let shared = CallDeadlines()

    private let state = Mutex(State())

    /// Ends call `id` of `socket` at `deadline` (wall nanoseconds) unless it finished before.
    func watch(_ socket: RPCWebSocket, id: Int64, deadline: Int64) {
        let start = state.withLock { state -> Bool in
            state.entries.append(Entry(deadline: deadline, socket: socket, id: id))
            defer { state.watching = true }
            return !state.watching
        }
        if start { Task { await self.run() } }
    }

    private func run() async {
        var wake = WallClock.nowNanoseconds() + Self.resolutionNanoseconds
        while true {
            try? await Task.sleep(for: .nanoseconds(Self.resolutionNanoseconds))
            let now = WallClock.nowNanoseconds()
            let heldUp = now - wake > Self.stallNanoseconds
            wake = now + Self.resolutionNanoseconds
            let due = state.withLock { state -> [Entry]? in
                if state.entries.isEmpty {
                    state.watching = false
                    return nil
                }
                var due: [Entry] = []
                state.entries.removeAll { entry in
                    guard Self.isDue(entry.deadline, now: now, heldUp: heldUp) else { return false }
                    due.append(entry)
                    return true
                }
                return due
            }
            guard let due else { return }
            for entry in due { entry.socket.deadlinePassed(entry.id) }
        }
    }

    /// Whether a call with `deadline` ends `now`: once its deadline has passed, unless the
    /// watcher was just held up and the grace is not spent.
    static func isDue(_ deadline: Int64, now: Int64, heldUp: Bool) -> Bool {
        deadline <= now && (!heldUp || now - deadline >= graceNanoseconds)
    }

    /// Sleeps until `deadline` (wall nanoseconds), and on past it while the process is held
    /// up (at most `graceNanoseconds`), so that work that was due before the deadline runs
    /// first.
    static func sleep(until deadline: Int64) async {
        var wake = deadline
        while true {
            let now = WallClock.nowNanoseconds()
            if now < wake {
                do { try await Task.sleep(for: .nanoseconds(wake - now)) } catch { return }
                continue
            }
            if isDue(deadline, now: now, heldUp: now - wake > stallNanoseconds) { return }
            wake = now + resolutionNanoseconds
        }
    }
}

import Dispatch

/// Where the plugs' WebSocket connections run: threads of their own, as libcurl's thread is
/// for HTTP. A reply goes through a few tasks between the socket and its call; on the
/// cooperative pool, a process whose threads are all busy (a burst of parsing, a storage
/// stall) would leave replies that came in time waiting past their deadline, and a call that
/// times out also closes its connection. Here the reply reaches its call as it comes; only the
/// caller's own resumption waits for the pool.
final class WebSocketExecutor: TaskExecutor {
    /// The executor of every plug.
    static let shared = WebSocketExecutor()

    /// Concurrent: one connection's jobs still run one at a time (they are one task's).
    private let queue = DispatchQueue(label: "energy-monitor.websocket", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

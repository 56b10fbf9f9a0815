import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP client that drives every transfer from one thread through libcurl's multi
/// interface: thousands of concurrent requests cost one thread, not one thread each.
///
/// `perform(_:)` may be called from any task; it only queues the request and wakes the
/// client's thread. That thread waits in `epoll_wait` (never on the cooperative pool) and
/// hands libcurl exactly the socket that became ready or the timeout that fell due
/// (`curl_multi_socket_action`), so each event costs the same with 3 transfers in flight or
/// 5,000. See `CurlEventLoop`.
public final class CurlMultiClient: Sendable {
    private let queue: RequestQueue

    /// Starts the client's thread.
    public init() {
        CurlGlobal.initialize()
        let queue = RequestQueue()
        self.queue = queue
        let thread = Thread {
            // Named from inside: only then does Foundation pass it on to the kernel (top, perf).
            Thread.current.name = "curl-multi"
            CurlEventLoop(queue: queue).run()
            queue.finished.signal()
        }
        thread.start()
    }

    deinit {
        shutdown()
    }

    /// Performs a request. Throws `HTTPClientError` when no response arrives.
    public func perform(_ request: HTTPRequest) async throws -> HTTPResponse {
        // An unsafe continuation saves the checked one's extra allocation per transfer; each
        // is resumed exactly once: here when the client is stopping, or by its `Transfer`.
        try await withUnsafeThrowingContinuation { continuation in
            let queued = QueuedRequest(request: request, continuation: continuation, enqueuedNanoseconds: Self.monotonicNanoseconds())
            if !queue.enqueue(queued) {
                continuation.resume(throwing: HTTPClientError.shutdown)
            }
        }
    }

    /// Performs a request whose body is handed to `onBody` piece by piece as it arrives
    /// instead of being collected: for long-lived responses such as Kubernetes watches. Only a
    /// 2xx body streams; any other status collects its body into the returned response as
    /// `perform` does (bounded by `maxResponseBytes`), so errors read the same. `onBody` runs
    /// on the client's thread and must return quickly (hand the bytes on, do not parse there).
    ///
    /// Unlike `perform`, which always runs to its timeout, a stream honours task cancellation:
    /// the transfer is taken off the connection at once and the call throws `CancellationError`.
    public func stream(_ request: HTTPRequest, onBody: @escaping @Sendable ([UInt8]) -> Void) async throws -> HTTPResponse {
        let receiver = StreamReceiver(deliver: onBody)
        let queue = self.queue
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                let queued = QueuedRequest(
                    request: request, continuation: continuation, enqueuedNanoseconds: Self.monotonicNanoseconds(),
                    receiver: receiver)
                if !queue.enqueue(queued) {
                    continuation.resume(throwing: HTTPClientError.shutdown)
                }
            }
        } onCancel: {
            // The flag first, then the wakeup: the loop reads the flag after every wakeup.
            receiver.cancel()
            queue.nudge()
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Unix time, nanoseconds (`CLOCK_REALTIME`, as the callers' wall clock).
    static func wallNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// The easy handles the client's thread holds, in flight and idle, as of its latest pass.
    var easyHandleCount: Int { queue.easyHandles.load(ordering: .relaxed) }

    /// Fails pending transfers, stops the thread and releases libcurl. Idempotent.
    public func shutdown() {
        if queue.requestStop() {
            queue.finished.wait()
        }
    }
}

/// A request waiting for the loop thread.
struct QueuedRequest: Sendable {
    var request: HTTPRequest
    var continuation: UnsafeContinuation<HTTPResponse, any Error>
    /// When `perform` was called, `CLOCK_MONOTONIC` nanoseconds: the timeout runs from here.
    var enqueuedNanoseconds: UInt64
    /// Where a streamed body goes (`stream(_:onBody:)`); nil for a collected body.
    var receiver: StreamReceiver? = nil
}

/// The receiving end of a streamed body, shared by the caller (who may cancel) and the loop
/// thread (which delivers and checks for cancellation).
final class StreamReceiver: Sendable {
    let deliver: @Sendable ([UInt8]) -> Void
    private let cancelled = Atomic<Bool>(false)

    init(deliver: @escaping @Sendable ([UInt8]) -> Void) {
        self.deliver = deliver
    }

    /// Whether the caller's task was cancelled.
    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }
}

/// What callers and the loop thread share: the requests not yet handed to libcurl, the stop
/// flag, and the eventfd that wakes the loop. Everything mutable sits in `state`.
final class RequestQueue: Sendable {
    struct State {
        var pending: [QueuedRequest] = []
        var stopping = false
        /// The eventfd was written and the loop has not taken the queue since: callers need
        /// not write again, so a tick of 5,000 requests costs one wakeup, not 5,000.
        var wakeupPending = false
    }

    let state = Mutex(State())
    /// eventfd the loop thread watches. Closed only in `deinit`, when neither a caller nor the
    /// loop can use it any more, so a late `wake()` can never write to a reused descriptor.
    let wakeDescriptor: Int32
    /// Signalled by the loop thread once it has failed every transfer and released libcurl.
    let finished = DispatchSemaphore(value: 0)
    /// Easy handles the loop holds (in flight and idle), published after each loop pass.
    let easyHandles = Atomic<Int>(0)

    init() {
        let descriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard descriptor >= 0 else { fatalError("eventfd failed: \(String(cString: strerror(errno)))") }
        wakeDescriptor = descriptor
    }

    deinit {
        close(wakeDescriptor)
    }

    /// Queues a request; false when the client is stopping (the caller fails it).
    func enqueue(_ request: QueuedRequest) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.stopping else { return (false, false) }
            state.pending.append(request)
            defer { state.wakeupPending = true }
            return (true, !state.wakeupPending)
        }
        if wake { self.wake() }
        return accepted
    }

    /// Marks the queue stopping and wakes the loop; true for the first call only.
    func requestStop() -> Bool {
        let first = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first { wake() }
        return first
    }

    /// Loop thread: the queued requests (swapped with `spare`, so no array is allocated per
    /// wakeup) and whether the client is stopping. Call after draining the eventfd.
    func take(into spare: inout [QueuedRequest]) -> Bool {
        state.withLock { state in
            swap(&state.pending, &spare)
            state.wakeupPending = false
            return state.stopping
        }
    }

    /// Wakes the loop without queueing anything, so that it looks at cancelled streams.
    func nudge() {
        let wake = state.withLock { state -> Bool in
            defer { state.wakeupPending = true }
            return !state.wakeupPending && !state.stopping
        }
        if wake { self.wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        // Cannot block (EFD_NONBLOCK) and cannot overflow (the loop drains the counter).
        _ = write(wakeDescriptor, &one, MemoryLayout<UInt64>.size)
    }

    /// Loop thread: resets the eventfd counter.
    func drainWakeups() {
        var count: UInt64 = 0
        _ = read(wakeDescriptor, &count, MemoryLayout<UInt64>.size)
    }
}

/// One-time process-wide libcurl initialisation.
enum CurlGlobal {
    private static let once: Void = {
        curl_global_init(ccurl_global_all)
    }()

    static func initialize() { _ = once }
}

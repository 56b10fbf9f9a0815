import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// The client's event loop, on its own thread: one multi handle, one epoll set, and the
/// eventfd through which `perform` wakes it.
///
/// libcurl's socket callback says which sockets to watch for what (added to, changed in or
/// removed from the epoll set at once), its timer callback when it next needs a timeout call.
/// The loop sleeps in `epoll_wait` until a socket is ready, the timer is due or the eventfd
/// fires, then tells libcurl only about that socket (`curl_multi_socket_action`): the cost of
/// an event does not grow with the number of transfers in flight, where `curl_multi_perform`
/// and `curl_multi_poll` walked every handle on every wakeup.
///
/// Created, run and released on the loop thread; nothing here is touched from elsewhere.
final class CurlEventLoop {
    private let queue: RequestQueue
    private let multi: UnsafeMutableRawPointer
    private let epoll: Int32
    /// When libcurl wants its timeout call, `CLOCK_MONOTONIC` nanoseconds; nil for never.
    private var timerDeadline: UInt64?
    /// Transfers handed to libcurl, by easy handle.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Finished transfers whose easy handles wait for the next request.
    private var idle: [Transfer] = []
    /// The queue's requests land here; swapped back and forth so no array is made per wakeup.
    private var batch: [QueuedRequest] = []
    private let events: UnsafeMutablePointer<epoll_event>
    private static let eventCapacity = 1024
    /// The marker `curl_multi_assign` attaches to a socket once it is in the epoll set, so the
    /// socket callback knows whether to add or modify without a lookup table.
    private static var registered: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }

    init(queue: RequestQueue) {
        self.queue = queue
        guard let handle = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multi = handle
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { fatalError("epoll_create1 failed: \(String(cString: strerror(errno)))") }
        events = .allocate(capacity: Self.eventCapacity)
        guard ccurl_epoll_control(epoll, EPOLL_CTL_ADD, queue.wakeDescriptor, EPOLLIN.rawValue) == 0 else {
            fatalError("epoll_ctl failed for the wakeup eventfd: \(String(cString: strerror(errno)))")
        }
        // Unretained: the callbacks run only inside libcurl calls made by `run()`, while
        // `self` is alive on this thread.
        let context = Unmanaged.passUnretained(self).toOpaque()
        ccurl_multi_setopt_socket_function(multi, curlSocketCallback)
        ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        ccurl_multi_setopt_timer_function(multi, curlTimerCallback)
        ccurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
    }

    deinit {
        events.deallocate()
    }

    /// Runs until the queue is stopped, then fails every transfer and releases libcurl.
    func run() {
        let wakeDescriptor = queue.wakeDescriptor
        while true {
            let count = epoll_wait(epoll, events, Int32(Self.eventCapacity), waitMilliseconds())
            var woken = false
            for index in 0..<Int32(max(count, 0)) {
                let descriptor = ccurl_epoll_event_descriptor(events, index)
                if descriptor == wakeDescriptor {
                    woken = true
                    continue
                }
                socketAction(descriptor, Self.selectBits(ccurl_epoll_event_bits(events, index)))
            }
            if woken {
                queue.drainWakeups()
                if queue.take(into: &batch) {
                    stop()
                    return
                }
                startBatch()
            }
            if let deadline = timerDeadline, Self.monotonicNanoseconds() >= deadline {
                timerDeadline = nil
                socketAction(CURL_SOCKET_TIMEOUT, 0)
            }
            collectFinished()
        }
    }

    private func socketAction(_ socket: curl_socket_t, _ bits: Int32) {
        var running: Int32 = 0
        curl_multi_socket_action(multi, socket, bits, &running)
    }

    /// epoll's readiness bits as libcurl's `CURL_CSELECT_*`. A hang-up reads as readable, so
    /// libcurl reads the end of the stream (or the error) itself.
    private static func selectBits(_ bits: UInt32) -> Int32 {
        var select: Int32 = 0
        if bits & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 { select |= CURL_CSELECT_IN }
        if bits & EPOLLOUT.rawValue != 0 { select |= CURL_CSELECT_OUT }
        if bits & EPOLLERR.rawValue != 0 { select |= CURL_CSELECT_ERR }
        return select
    }

    /// How long `epoll_wait` may sleep: until libcurl's timer, rounded up so the loop never
    /// spins on a deadline a fraction of a millisecond away; forever without one.
    private func waitMilliseconds() -> Int32 {
        guard let deadline = timerDeadline else { return -1 }
        let now = Self.monotonicNanoseconds()
        guard deadline > now else { return 0 }
        return Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    /// Hands the queued requests to libcurl, each on a reused easy handle where one is idle.
    private func startBatch() {
        for queued in batch {
            let transfer = idle.popLast() ?? Transfer()
            if let error = transfer.start(queued) {
                transfer.fail(error)
                idle.append(transfer)
                continue
            }
            let code = curl_multi_add_handle(multi, transfer.easy)
            guard code == CURLM_OK else {
                transfer.fail(.transport("curl_multi_add_handle: \(String(cString: curl_multi_strerror(code)))"))
                idle.append(transfer)
                continue
            }
            active[transfer.easy] = transfer
        }
        batch.removeAll(keepingCapacity: true)
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            curl_multi_remove_handle(multi, easy)
            if let transfer = active.removeValue(forKey: easy) {
                transfer.finish(code: code)
                idle.append(transfer)
            }
        }
    }

    /// Fails what is queued and in flight with `.shutdown`, then releases every handle.
    private func stop() {
        for queued in batch {
            queued.continuation.resume(throwing: HTTPClientError.shutdown)
        }
        batch.removeAll()
        for (easy, transfer) in active {
            curl_multi_remove_handle(multi, easy)
            transfer.fail(.shutdown)
        }
        active.removeAll()
        idle.removeAll()  // curl_easy_cleanup, in Transfer.deinit
        curl_multi_cleanup(multi)
        close(epoll)
    }

    /// Socket callback: keeps the epoll set in step with what libcurl wants to know.
    fileprivate func watch(socket: curl_socket_t, what: Int32, isRegistered: Bool) {
        if what == CURL_POLL_REMOVE {
            // libcurl drops the socket's assignment itself; the descriptor may already be
            // closed, which removed it from the set as well.
            if isRegistered { _ = ccurl_epoll_control(epoll, EPOLL_CTL_DEL, socket, 0) }
            return
        }
        var bits: UInt32 = 0
        if what & CURL_POLL_IN != 0 { bits |= EPOLLIN.rawValue }
        if what & CURL_POLL_OUT != 0 { bits |= EPOLLOUT.rawValue }
        if isRegistered {
            if ccurl_epoll_control(epoll, EPOLL_CTL_MOD, socket, bits) != 0, errno == ENOENT {
                _ = ccurl_epoll_control(epoll, EPOLL_CTL_ADD, socket, bits)
            }
        } else {
            if ccurl_epoll_control(epoll, EPOLL_CTL_ADD, socket, bits) != 0, errno == EEXIST {
                _ = ccurl_epoll_control(epoll, EPOLL_CTL_MOD, socket, bits)
            }
            curl_multi_assign(multi, socket, Self.registered)
        }
    }

    /// Timer callback: remembers when libcurl wants `socketAction(CURL_SOCKET_TIMEOUT)`.
    fileprivate func setTimer(milliseconds: Int) {
        timerDeadline = milliseconds < 0 ? nil : Self.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

private func curlSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ socket: curl_socket_t, _ what: Int32,
    _ context: UnsafeMutableRawPointer?, _ socketContext: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<CurlEventLoop>.fromOpaque(context).takeUnretainedValue()
        .watch(socket: socket, what: what, isRegistered: socketContext != nil)
    return 0
}

private func curlTimerCallback(_ multi: UnsafeMutableRawPointer?, _ milliseconds: Int, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<CurlEventLoop>.fromOpaque(context).takeUnretainedValue().setTimer(milliseconds: milliseconds)
    return 0
}

import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// The client's event loop, on its own thread: a few multi handles, one epoll set, and the
/// eventfd through which `perform` wakes it.
///
/// libcurl's socket callback says which sockets to watch for what (added to, changed in or
/// removed from the epoll set at once), its timer callback when it next needs a timeout call.
/// The loop sleeps in `epoll_wait` until a socket is ready, a timer is due or the eventfd
/// fires, then tells libcurl only about that socket (`curl_multi_socket_action`): the cost of
/// an event does not grow with the number of transfers in flight, where `curl_multi_perform`
/// and `curl_multi_poll` walked every handle on every wakeup.
///
/// Transfers are spread over up to `shardCount` multi handles by destination (see `Shard`).
/// Created, run and released on the loop thread; nothing here is touched from elsewhere.
final class CurlEventLoop {
    /// One multi handle, with its own connection and DNS caches. libcurl 7.88 searches a
    /// multi handle's connection cache linearly for the entry of a closed connection, and its
    /// caches have a fixed number of hash slots (one entry per destination): with 5,000 plugs
    /// on one multi handle that is O(plugs) per poll again. Spreading destinations over
    /// shards divides that by `shardCount`; one destination always lands on the same shard,
    /// so its kept-alive connections and DNS entry are still reused.
    final class Shard {
        let index: Int
        let multi: UnsafeMutableRawPointer
        /// When libcurl wants its timeout call, `CLOCK_MONOTONIC` nanoseconds; nil for never.
        var timerDeadline: UInt64?
        /// The loop owns its shards and outlives them (it cleans them up before it ends).
        private unowned(unsafe) let loop: CurlEventLoop

        init(index: Int, loop: CurlEventLoop) {
            guard let handle = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
            self.index = index
            self.multi = handle
            self.loop = loop
            // Unretained: the callbacks run only inside libcurl calls on this multi handle,
            // made by the loop, which keeps the shard alive until after curl_multi_cleanup.
            let context = Unmanaged.passUnretained(self).toOpaque()
            ccurl_multi_setopt_socket_function(multi, curlSocketCallback)
            ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
            ccurl_multi_setopt_timer_function(multi, curlTimerCallback)
            ccurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
        }

        /// Socket callback: the loop keeps its epoll set in step.
        fileprivate func watch(socket: curl_socket_t, what: Int32, isRegistered: Bool) {
            loop.watch(shard: self, socket: socket, what: what, isRegistered: isRegistered)
        }

        /// Timer callback: remembers when libcurl wants `curl_multi_socket_action(TIMEOUT)`.
        fileprivate func setTimer(milliseconds: Int) {
            timerDeadline = milliseconds < 0 ? nil : CurlEventLoop.monotonicNanoseconds() + UInt64(clamping: milliseconds) * 1_000_000
        }
    }

    /// At most this many multi handles, made when a destination first needs one.
    static let shardCount = 32
    private static let wakeToken = UInt64.max
    private static let eventCapacity = 1024
    /// The marker `curl_multi_assign` attaches to a socket once it is in the epoll set, so the
    /// socket callback tells a socket libcurl reported before from a new one.
    private static var registered: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }

    private let queue: RequestQueue
    private let epoll: Int32
    private var shards: [Shard?] = Array(repeating: nil, count: CurlEventLoop.shardCount)
    private var liveShards: [Shard] = []
    /// Shards that ran `curl_multi_socket_action` since their messages were last read, by bit.
    private var touched: UInt64 = 0
    /// Transfers handed to libcurl, by easy handle.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    /// The active transfers that stream their body (watches): few and long-lived, checked
    /// for cancellation on every pass, where scanning all of `active` would cost O(plugs).
    private var streams: [Transfer] = []
    /// Finished transfers whose easy handles wait for the next request; at most `maxIdle`.
    /// A burst (the first tick, or many slow plugs at once) leaves far more handles than the
    /// steady state needs, each with its buffers; those beyond the cap are released.
    private var idle: [Transfer] = []
    static let maxIdle = 256
    /// The queue's requests land here; swapped back and forth so no array is made per wakeup.
    private var batch: [QueuedRequest] = []
    /// Requests taken from the queue and not yet handed to libcurl, oldest first from
    /// `waitingHead`. At most `startsPerWakeup` are started per pass of the loop, between
    /// rounds of socket events: a tick's 5,000 polls then flow through a few hundred
    /// connections at a time instead of 5,000 handles, sockets and receive buffers at once.
    /// Nothing waits for a free slot (a dead plug holds none back): starts are only paced.
    private var waiting: [QueuedRequest] = []
    private var waitingHead = 0
    static let startsPerWakeup = 128
    private let events: UnsafeMutablePointer<epoll_event>
    /// Transfers finished since free memory was last handed back (see `run()`).
    private var finishedSinceTrim = 0
    static let trimAfterTransfers = 1024
    /// Which shard's socket each descriptor in the epoll set is (shard index + 1; 0: none),
    /// indexed by descriptor. libcurl sometimes closes a socket before it says REMOVE; the
    /// descriptor may by then be another shard's new socket, whose registration that late
    /// REMOVE must not delete.
    private var owners: [UInt8] = []

    init(queue: RequestQueue) {
        self.queue = queue
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { fatalError("epoll_create1 failed: \(String(cString: strerror(errno)))") }
        events = .allocate(capacity: Self.eventCapacity)
        guard ccurl_epoll_control(epoll, EPOLL_CTL_ADD, queue.wakeDescriptor, EPOLLIN.rawValue, Self.wakeToken) == 0 else {
            fatalError("epoll_ctl failed for the wakeup eventfd: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        events.deallocate()
    }

    /// Runs until the queue is stopped, then fails every transfer and releases libcurl.
    func run() {
        while true {
            let count = epoll_wait(epoll, events, Int32(Self.eventCapacity), waitingHead < waiting.count ? 0 : waitMilliseconds())
            var woken = false
            for index in 0..<Int32(max(count, 0)) {
                let token = ccurl_epoll_event_token(events, index)
                if token == Self.wakeToken {
                    woken = true
                    continue
                }
                guard let shard = shards[Int(token >> 32)] else { continue }
                let socket = curl_socket_t(bitPattern: UInt32(truncatingIfNeeded: token))
                socketAction(shard, socket, Self.selectBits(ccurl_epoll_event_bits(events, index)))
            }
            if woken {
                queue.drainWakeups()
                if queue.take(into: &batch) {
                    stop()
                    return
                }
                waiting.append(contentsOf: batch)
                batch.removeAll(keepingCapacity: true)
            }
            startWaiting()
            if !streams.isEmpty { cancelStreams() }
            let now = Self.monotonicNanoseconds()
            for shard in liveShards {
                if let deadline = shard.timerDeadline, now >= deadline {
                    shard.timerDeadline = nil
                    socketAction(shard, CURL_SOCKET_TIMEOUT, 0)
                }
            }
            collectFinished()
            queue.easyHandles.store(active.count + idle.count, ordering: .relaxed)
            if active.isEmpty, waiting.isEmpty, finishedSinceTrim >= Self.trimAfterTransfers {
                finishedSinceTrim = 0
                ccurl_release_free_memory()
            }
        }
    }

    private func socketAction(_ shard: Shard, _ socket: curl_socket_t, _ bits: Int32) {
        var running: Int32 = 0
        curl_multi_socket_action(shard.multi, socket, bits, &running)
        touched |= 1 << UInt64(shard.index)
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

    /// How long `epoll_wait` may sleep: until the earliest libcurl timer, rounded up so the
    /// loop never spins on a deadline a fraction of a millisecond away; forever without one.
    private func waitMilliseconds() -> Int32 {
        var earliest: UInt64?
        for shard in liveShards {
            if let deadline = shard.timerDeadline, deadline < (earliest ?? .max) { earliest = deadline }
        }
        guard let earliest else { return -1 }
        let now = Self.monotonicNanoseconds()
        guard earliest > now else { return 0 }
        return Int32(clamping: min((earliest - now + 999_999) / 1_000_000, 60_000))
    }

    /// The shard of a destination: FNV-1a of the URL up to its path (scheme and authority).
    static func shardIndex(for url: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        var slashes = 0
        for byte in url.utf8 {
            if byte == UInt8(ascii: "/") {
                slashes += 1
                if slashes == 3 { break }
            }
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return Int(hash % UInt32(shardCount))
    }

    private func shard(for url: String) -> Shard {
        let index = Self.shardIndex(for: url)
        if let shard = shards[index] { return shard }
        let shard = Shard(index: index, loop: self)
        shards[index] = shard
        liveShards.append(shard)
        return shard
    }

    /// Socket callback of `shard`: keeps the epoll set in step with what libcurl wants to know.
    fileprivate func watch(shard: Shard, socket: curl_socket_t, what: Int32, isRegistered: Bool) {
        guard socket >= 0 else { return }
        let descriptor = Int(socket)
        if descriptor >= owners.count { owners.append(contentsOf: repeatElement(0, count: descriptor + 1024 - owners.count)) }
        let owner = UInt8(shard.index + 1)
        if what == CURL_POLL_REMOVE {
            // libcurl drops the socket's assignment itself. A descriptor already closed left
            // the set by itself; one that is now another shard's socket stays.
            if owners[descriptor] == owner {
                owners[descriptor] = 0
                _ = ccurl_epoll_control(epoll, EPOLL_CTL_DEL, socket, 0, 0)
            }
            return
        }
        var bits: UInt32 = 0
        if what & CURL_POLL_IN != 0 { bits |= EPOLLIN.rawValue }
        if what & CURL_POLL_OUT != 0 { bits |= EPOLLOUT.rawValue }
        let token = UInt64(shard.index) << 32 | UInt64(UInt32(bitPattern: socket))
        if isRegistered, owners[descriptor] == owner {
            if ccurl_epoll_control(epoll, EPOLL_CTL_MOD, socket, bits, token) != 0, errno == ENOENT {
                _ = ccurl_epoll_control(epoll, EPOLL_CTL_ADD, socket, bits, token)
            }
        } else {
            if ccurl_epoll_control(epoll, EPOLL_CTL_ADD, socket, bits, token) != 0, errno == EEXIST {
                _ = ccurl_epoll_control(epoll, EPOLL_CTL_MOD, socket, bits, token)
            }
            owners[descriptor] = owner
            if !isRegistered { curl_multi_assign(shard.multi, socket, Self.registered) }
        }
    }

    /// Hands up to `startsPerWakeup` waiting requests to libcurl, each on a reused easy handle
    /// where one is idle.
    private func startWaiting() {
        guard waitingHead < waiting.count else { return }
        let now = Self.monotonicNanoseconds()
        let end = min(waiting.count, waitingHead + Self.startsPerWakeup)
        for index in waitingHead..<end {
            let queued = waiting[index]
            if let receiver = queued.receiver, receiver.isCancelled {
                queued.continuation.resume(throwing: CancellationError())
                continue
            }
            let transfer = idle.popLast() ?? Transfer()
            if let error = transfer.start(queued, now: now) {
                transfer.fail(error)
                recycle(transfer)
                continue
            }
            let shard = shard(for: queued.request.url)
            let code = curl_multi_add_handle(shard.multi, transfer.easy)
            guard code == CURLM_OK else {
                transfer.fail(.transport("curl_multi_add_handle: \(String(cString: curl_multi_strerror(code)))"))
                recycle(transfer)
                continue
            }
            transfer.shard = shard.index
            active[transfer.easy] = transfer
            if queued.receiver != nil { streams.append(transfer) }
        }
        waitingHead = end
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
    }

    /// Takes the streams whose callers were cancelled off their connections.
    private func cancelStreams() {
        streams.removeAll { transfer in
            guard let receiver = transfer.receiver else { return true }  // finished meanwhile
            guard receiver.isCancelled else { return false }
            if let shard = shards[transfer.shard] { curl_multi_remove_handle(shard.multi, transfer.easy) }
            active.removeValue(forKey: transfer.easy)
            transfer.failCancelled()
            recycle(transfer)
            return true
        }
    }

    private func recycle(_ transfer: Transfer) {
        if idle.count < Self.maxIdle { idle.append(transfer) }
    }

    private func collectFinished() {
        while touched != 0 {
            let index = touched.trailingZeroBitCount
            touched &= touched - 1
            guard let shard = shards[index] else { continue }
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(shard.multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(shard.multi, easy)
                if let transfer = active.removeValue(forKey: easy) {
                    if transfer.receiver != nil { streams.removeAll { $0 === transfer } }
                    transfer.finish(code: code)
                    recycle(transfer)
                    finishedSinceTrim += 1
                }
            }
        }
    }

    /// Fails what is queued and in flight with `.shutdown`, then releases every handle.
    private func stop() {
        for queued in batch + waiting[waitingHead...] {
            queued.continuation.resume(throwing: HTTPClientError.shutdown)
        }
        batch.removeAll()
        waiting.removeAll()
        for (easy, transfer) in active {
            if let shard = shards[transfer.shard] { curl_multi_remove_handle(shard.multi, easy) }
            transfer.fail(.shutdown)
        }
        active.removeAll()
        streams.removeAll()
        idle.removeAll()  // curl_easy_cleanup, in Transfer.deinit
        for shard in liveShards { curl_multi_cleanup(shard.multi) }
        liveShards.removeAll()
        shards.removeAll()
        close(epoll)
    }

    fileprivate static func monotonicNanoseconds() -> UInt64 {
        CurlMultiClient.monotonicNanoseconds()
    }
}

private func curlSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ socket: curl_socket_t, _ what: Int32,
    _ context: UnsafeMutableRawPointer?, _ socketContext: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<CurlEventLoop.Shard>.fromOpaque(context).takeUnretainedValue()
        .watch(socket: socket, what: what, isRegistered: socketContext != nil)
    return 0
}

private func curlTimerCallback(_ multi: UnsafeMutableRawPointer?, _ milliseconds: Int, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<CurlEventLoop.Shard>.fromOpaque(context).takeUnretainedValue().setTimer(milliseconds: milliseconds)
    return 0
}

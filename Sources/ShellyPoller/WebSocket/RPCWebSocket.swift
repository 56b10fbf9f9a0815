import EnergyModel
import HummingbirdWSClient
import JSON
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One persistent RPC channel to a Gen2+ device over WebSocket (`ws://HOST/rpc`), shared by
/// all polls of that plug: a request frame per call, the reply matched by its `id`.
///
/// The connection is opened on the first call and kept; when it closes (device reboot, Wi-Fi
/// loss) the next call opens it again, no sooner than the reconnect backoff allows (1 s,
/// doubling to 30 s while attempts keep failing). A call that gets no reply before its
/// deadline closes the connection: a silent or half-dead connection is found within one
/// poll interval, and only that poll's sample is lost.
///
/// The WebSocket protocol itself is hummingbird-websocket's client on SwiftNIO, which brings
/// TLS: this is the transport of `wss://` (plugs at an `https://` address). Plain `ws://`
/// uses `EventLoopRPCWebSocket`, which costs a plug far less CPU and memory.
final class RPCWebSocket: RPCTransport {
    /// Why a call produced no reply.
    enum CallFailure: Error, Equatable, Sendable {
        /// The device answered the upgrade with something other than 101 (no WebSocket there).
        case upgradeRefused
        /// The connection could not be opened, or closed before the reply.
        case closed(String)
        /// No reply before the deadline (the connection is closed).
        case timeout
        /// The connection is in its reconnect backoff.
        case backingOff(milliseconds: Int64)
        /// The deadline had passed before the call was made (the caller came late): nothing
        /// was sent, and the connection is not to blame.
        case noTimeLeft
        /// The device sent a frame that is not a believable payload (too large, cut off, not
        /// JSON, `NaN`): counted as an HTTP body of the same kind would be.
        case payload(ShellyPayloadError)
    }

    /// A reply frame and when it was read (wall nanoseconds): the caller may resume much
    /// later on a busy machine, and the reading must not be dated by that.
    struct Reply: Sendable {
        var frame: JSONValue
        var receivedNanoseconds: Int64
    }

    /// A call in flight: written and awaiting its reply, or answered before its caller waited.
    private enum Call {
        case waiting(CheckedContinuation<Result<Reply, CallFailure>, Never>?)
        case done(Result<Reply, CallFailure>)
    }

    private enum Phase {
        case idle
        case connecting(
            task: Task<Void, Never>,
            waiters: [Int: CheckedContinuation<Result<WebSocketOutboundWriter, CallFailure>, Never>])
        case open(task: Task<Void, Never>, writer: WebSocketOutboundWriter)
    }

    private struct State {
        var phase: Phase = .idle
        var generation = 0
        var nextWaiter = 0
        var nextID: Int64 = 1
        var pending: [Int64: Call] = [:]
        /// No connection attempt before this (monotonic nanoseconds).
        var retryAt: Int64 = 0
        var failedAttempts = 0
    }

    let url: String
    private let source: String
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let state = Mutex(State())

    /// Largest frame read from a device: larger than any payload is allowed to be, so that an
    /// oversized one is read and refused like an oversized HTTP body (256 KiB) instead of
    /// tearing the connection down.
    static let maxFrameBytes = 16 << 20
    static let backoffBaseMilliseconds: Int64 = 1000
    static let backoffMaxMilliseconds: Int64 = 30_000

    /// When the next connection attempt may start after `failedAttempts` attempts in a row
    /// never opened (monotonic nanoseconds): 1 s, doubling to 30 s.
    static func retryAt(afterFailedAttempts failedAttempts: Int, now: Int64) -> Int64 {
        let exponent = min(max(failedAttempts - 1, 0), 10)
        return now + min(backoffMaxMilliseconds, backoffBaseMilliseconds << Int64(exponent)) * 1_000_000
    }

    /// A frame the device sent, read as a plug's HTTP body is (size, depth, non-finite
    /// numbers): the reply to call `id`, a frame that answers no call (a notification), or
    /// one that cannot be read, which fails the calls in flight (a plug's calls are
    /// sequential: one).
    enum ReadFrame {
        case reply(id: Int64, Reply)
        case notification
        case unreadable(ShellyPayloadError)
    }

    static func read(_ bytes: [UInt8]) -> ReadFrame {
        let received = WallClock.nowNanoseconds()
        let frame: JSONValue
        do {
            frame = try ShellyParser.json(bytes)
        } catch {
            return .unreadable(error)
        }
        guard let id = frame["id"]?.integer else { return .notification }
        return .reply(id: id, Reply(frame: frame, receivedNanoseconds: received))
    }

    init(url: String, source: String, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.url = url
        self.source = source
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Whether a connection is open now.
    var isOpen: Bool {
        state.withLock { if case .open = $0.phase { true } else { false } }
    }

    /// Calls `method` with `params` (a JSON object text) and `auth` (a JSON object text, if
    /// any) and returns the reply frame, parsed; before `deadline` (monotonic nanoseconds).
    func call(method: String, params: String, auth: String?, deadline: Int64) async -> Result<Reply, CallFailure> {
        // As an HTTP request with no time left: a frame sent now would be answered after the
        // poll should have ended (and a Digest answer with a nonce gone stale meanwhile).
        guard MonotonicClock.nowNanoseconds() < deadline else { return .failure(.noTimeLeft) }
        let writer: WebSocketOutboundWriter
        switch await connectedWriter(deadline: deadline) {
        case .success(let open): writer = open
        case .failure(let failure): return .failure(failure)
        }
        let id = state.withLock { state -> Int64 in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
        var frame = "{\"id\":\(id),\"src\":\"\(source)\",\"method\":\"\(method)\",\"params\":\(params)"
        if let auth { frame += ",\"auth\":\(auth)" }
        frame += "}"
        state.withLock { $0.pending[id] = .waiting(nil) }
        // Written before waiting, without a task of its own; a reply that beats the wait is kept.
        do {
            try await writer.write(.text(frame))
        } catch {
            finish(id, .failure(.closed("write failed: \(error)")))
        }
        CallDeadlines.shared.watch(self, id: id, deadline: deadline)
        return await withCheckedContinuation { continuation in
            let early = state.withLock { state -> Result<Reply, CallFailure>? in
                switch state.pending[id] {
                case .done(let result)?:
                    state.pending[id] = nil
                    return result
                case .waiting?:
                    state.pending[id] = .waiting(continuation)
                    return nil
                case nil:
                    return .failure(.closed("connection closed"))
                }
            }
            if let early { continuation.resume(returning: early) }
        }
    }

    /// Closes the connection; pending calls fail.
    func close() {
        let task = state.withLock { state -> Task<Void, Never>? in
            switch state.phase {
            case .idle: return nil
            case .connecting(let task, _), .open(let task, _): return task
            }
        }
        task?.cancel()
    }

    /// Called by `CallDeadlines` when call `id`'s deadline has passed.
    func deadlinePassed(_ id: Int64) {
        timedOut(id)
    }

    private func timedOut(_ id: Int64) {
        guard finish(id, .failure(.timeout)) else { return }
        // No reply in time: the connection is silent or dead; start afresh next time. It is
        // dropped at once: closing it takes a while, and the next call must not write to it
        // meanwhile (it would fail as a closed connection, not try a new one).
        let (task, pending) = state.withLock {
            state -> (Task<Void, Never>?, [CheckedContinuation<Result<Reply, CallFailure>, Never>]) in
            guard case .open(let task, _) = state.phase else { return (nil, []) }
            state.phase = .idle
            state.generation += 1  // the old connection's end concerns no later call
            let pending = state.pending.values.compactMap {
                call -> CheckedContinuation<Result<Reply, CallFailure>, Never>? in
                if case .waiting(let continuation) = call { return continuation }
                return nil
            }
            state.pending = [:]
            return (task, pending)
        }
        for call in pending {
            call.resume(returning: .failure(.closed("connection dropped after a call went unanswered")))
        }
        task?.cancel()
    }

    /// Resumes call `id` (or keeps the result for it when it does not wait yet); false when it
    /// was already finished.
    @discardableResult
    private func finish(_ id: Int64, _ result: Result<Reply, CallFailure>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<Result<Reply, CallFailure>, Never>?? in
            guard case .waiting(let waiting)? = state.pending[id] else { return nil }
            if let waiting {
                state.pending[id] = nil
                return .some(waiting)
            }
            state.pending[id] = .done(result)
            return .some(nil)
        }
        guard let continuation else { return false }
        continuation?.resume(returning: result)
        return true
    }

    private func connectedWriter(deadline: Int64) async -> Result<WebSocketOutboundWriter, CallFailure> {
        let now = MonotonicClock.nowNanoseconds()
        enum Next {
            case ready(WebSocketOutboundWriter)
            case wait
            case start
            case backoff(Int64)
        }
        let next = state.withLock { state -> Next in
            switch state.phase {
            case .open(_, let writer): return .ready(writer)
            case .connecting: return .wait
            case .idle:
                if now < state.retryAt { return .backoff((state.retryAt - now) / 1_000_000) }
                return .start
            }
        }
        switch next {
        case .ready(let writer): return .success(writer)
        case .backoff(let milliseconds): return .failure(.backingOff(milliseconds: milliseconds))
        case .start, .wait: break
        }
        let waiter = state.withLock { state -> Int in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let timer = Mutex<Task<Void, Never>?>(nil)
        defer { timer.withLock { $0?.cancel() } }
        return await withCheckedContinuation { continuation in
            let started: Bool = state.withLock { state in
                switch state.phase {
                case .open(_, let writer):
                    continuation.resume(returning: .success(writer))
                    return false
                case .connecting(let task, var waiters):
                    waiters[waiter] = continuation
                    state.phase = .connecting(task: task, waiters: waiters)
                    return false
                case .idle:
                    state.generation += 1
                    let generation = state.generation
                    // On the plugs' own executor: replies are read there, however busy the
                    // cooperative pool is (see `WebSocketExecutor`).
                    let task = Task(executorPreference: WebSocketExecutor.shared) {
                        await self.connect(generation: generation)
                    }
                    state.phase = .connecting(task: task, waiters: [waiter: continuation])
                    return true
                }
            }
            timer.withLock {
                $0 = Task(executorPreference: WebSocketExecutor.shared) {
                    // As for a call's deadline: a connection that opened in time while the
                    // process was held up is not a timeout.
                    await CallDeadlines.sleep(until: deadline)
                    guard !Task.isCancelled else { return }
                    self.resumeWaiter(waiter, .failure(.timeout))
                }
            }
            if started { logger.debug("opening WebSocket", metadata: ["url": "\(url)"]) }
        }
    }

    private func resumeWaiter(_ waiter: Int, _ result: Result<WebSocketOutboundWriter, CallFailure>) {
        let continuation = state.withLock {
            state -> CheckedContinuation<Result<WebSocketOutboundWriter, CallFailure>, Never>? in
            guard case .connecting(let task, var waiters) = state.phase,
                let continuation = waiters.removeValue(forKey: waiter)
            else {
                return nil
            }
            state.phase = .connecting(task: task, waiters: waiters)
            return continuation
        }
        continuation?.resume(returning: result)
    }

    /// Runs one connection until it closes.
    private func connect(generation: Int) async {
        var quiet = logger
        quiet.logLevel = .critical
        let client = WebSocketClient(
            url: url,
            configuration: .init(maxFrameSize: Self.maxFrameBytes, closeTimeout: .seconds(1)),
            eventLoopGroup: eventLoopGroup,
            logger: quiet
        ) { inbound, outbound, _ in
            self.opened(outbound, generation: generation)
            for try await message in inbound.messages(maxSize: Self.maxFrameBytes) {
                guard case .text(let text) = message else { continue }
                self.deliver(Array(text.utf8))
            }
        }
        let failure: CallFailure
        do {
            try await client.run()
            failure = .closed("closed by the device")
        } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
            failure = .upgradeRefused
        } catch {
            failure = .closed("\(error)")
        }
        closed(failure, generation: generation)
    }

    private func opened(_ writer: WebSocketOutboundWriter, generation: Int) {
        let waiters = state.withLock {
            state -> [CheckedContinuation<Result<WebSocketOutboundWriter, CallFailure>, Never>] in
            guard state.generation == generation, case .connecting(let task, let waiters) = state.phase else {
                return []
            }
            state.phase = .open(task: task, writer: writer)
            state.failedAttempts = 0
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: .success(writer)) }
    }

    /// A frame the device sent (see `read`).
    private func deliver(_ bytes: [UInt8]) {
        switch Self.read(bytes) {
        case .reply(let id, let reply):
            finish(id, .success(reply))
        case .notification:
            break
        case .unreadable(let error):
            let ids = state.withLock { Array($0.pending.keys) }
            for id in ids { finish(id, .failure(.payload(error))) }
        }
    }

    private func closed(_ failure: CallFailure, generation: Int) {
        let (waiters, pending) = state.withLock {
            state -> (
                [CheckedContinuation<Result<WebSocketOutboundWriter, CallFailure>, Never>],
                [CheckedContinuation<Result<Reply, CallFailure>, Never>]
            ) in
            guard state.generation == generation else { return ([], []) }
            var waiters: [CheckedContinuation<Result<WebSocketOutboundWriter, CallFailure>, Never>] = []
            if case .connecting(_, let waiting) = state.phase {
                waiters = Array(waiting.values)
                // Never opened: back off before the next attempt.
                state.failedAttempts += 1
                state.retryAt = Self.retryAt(
                    afterFailedAttempts: state.failedAttempts, now: MonotonicClock.nowNanoseconds())
            }
            state.phase = .idle
            let pending = state.pending.values.compactMap {
                call -> CheckedContinuation<Result<Reply, CallFailure>, Never>? in
                if case .waiting(let continuation) = call { return continuation }
                return nil
            }
            state.pending = [:]
            return (waiters, pending)
        }
        for waiter in waiters { waiter.resume(returning: .failure(failure)) }
        for call in pending { call.resume(returning: .failure(failure)) }
    }
}

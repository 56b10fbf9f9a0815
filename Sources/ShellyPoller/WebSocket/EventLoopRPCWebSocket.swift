import EnergyModel
import JSON
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One persistent RPC channel to a Gen2+ device over WebSocket (`ws://HOST/rpc`) that lives
/// on a SwiftNIO event loop: a request frame per call, the reply matched by its `id` and
/// handed to the waiting call from the loop as it is read (`RPCFrameHandler`). A call costs no
/// task and no timer of its own: its deadline is one entry in `CallDeadlines`, which looks
/// once per tick for all plugs.
///
/// The connection is opened on the first call and kept; when it closes (device reboot, Wi-Fi
/// loss) the next call opens it again, no sooner than the reconnect backoff allows (1 s,
/// doubling to 30 s while attempts keep failing). A call that gets no reply before its
/// deadline closes the connection: a silent or half-dead connection is found within one
/// poll interval, and only that poll's sample is lost.
final class EventLoopRPCWebSocket: RPCTransport {
    typealias Reply = RPCWebSocket.Reply
    typealias CallFailure = RPCWebSocket.CallFailure
    private typealias CallContinuation = CheckedContinuation<Result<Reply, CallFailure>, Never>
    private typealias OpenContinuation = CheckedContinuation<Result<Connection, CallFailure>, Never>

    /// An open connection: its channel and its frame handler.
    private struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<RPCFrameHandler>
    }

    private enum Phase {
        case idle
        /// Opening; `channel` once the TCP connection exists (closed by `close()`).
        case connecting(channel: (any Channel)?, waiters: [Int: OpenContinuation])
        case open(Connection)
    }

    private struct State {
        var phase: Phase = .idle
        var generation = 0
        var nextWaiter = 0
        var nextID: Int64 = 1
        var pending: [Int64: CallContinuation] = [:]
        /// No connection attempt before this (monotonic nanoseconds).
        var retryAt: Int64 = 0
        var failedAttempts = 0
    }

    let host: String
    let port: Int
    private let source: String
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let state = Mutex(State())

    /// Where to connect, from `http://host[:port]` (IPv6 hosts in brackets).
    init(baseURL: String, source: String, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        var rest = Substring(baseURL)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        var host = String(rest)
        var port = 80
        if let close = host.lastIndex(of: "]") {
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":"), let number = Int(after.dropFirst()) { port = number }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":"), let number = Int(host[host.index(after: colon)...]) {
            port = number
            host = String(host[..<colon])
        }
        self.host = host
        self.port = port
        self.source = source
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Whether a connection is open now.
    var isOpen: Bool {
        state.withLock { if case .open = $0.phase { true } else { false } }
    }

    func call(method: String, params: String, auth: String?, deadline: Int64) async -> Result<Reply, CallFailure> {
        // As an HTTP request with no time left: a frame sent now would be answered after the
        // poll should have ended (and a Digest answer with a nonce gone stale meanwhile).
        guard MonotonicClock.nowNanoseconds() < deadline else { return .failure(.noTimeLeft) }
        let current = state.withLock { state -> Connection? in
            if case .open(let connection) = state.phase { return connection }
            return nil
        }
        let connection: Connection
        if let current {
            connection = current
        } else {
            switch await connect(deadline: deadline) {
            case .success(let open): connection = open
            case .failure(let failure): return .failure(failure)
            }
        }
        return await withCheckedContinuation { continuation in
            // Registered only on the connection it is written to: one that closed meanwhile
            // failed its calls already, and this one fails as closed.
            let id = state.withLock { state -> Int64? in
                guard case .open(let current) = state.phase, current.channel === connection.channel else { return nil }
                let id = state.nextID
                state.nextID &+= 1
                state.pending[id] = continuation
                return id
            }
            guard let id else {
                continuation.resume(returning: .failure(.closed("connection closed")))
                return
            }
            CallDeadlines.shared.watch(self, id: id, deadline: deadline)
            let source = source
            connection.channel.eventLoop.execute {
                if !connection.handler.value.send(id: id, source: source, method: method, params: params, auth: auth) {
                    self.finish(id, .failure(.closed("connection closed")))
                }
            }
        }
    }

    func close() {
        let (channel, waiters, pending) = state.withLock {
            state -> ((any Channel)?, [OpenContinuation], [CallContinuation]) in
            state.generation += 1  // whatever the old connection does next concerns no call
            var channel: (any Channel)?
            var waiters: [OpenContinuation] = []
            switch state.phase {
            case .idle: break
            case .connecting(let opening, let waiting):
                channel = opening
                waiters = Array(waiting.values)
            case .open(let connection): channel = connection.channel
            }
            state.phase = .idle
            let pending = Array(state.pending.values)
            state.pending = [:]
            return (channel, waiters, pending)
        }
        for waiter in waiters { waiter.resume(returning: .failure(.closed("connection closed"))) }
        for call in pending { call.resume(returning: .failure(.closed("connection closed"))) }
        channel?.close(promise: nil)
    }

    func deadlinePassed(_ id: Int64) {
        guard finish(id, .failure(.timeout)) else { return }
        // No reply in time: the connection is silent or dead; start afresh next time. It is
        // dropped at once: closing it takes a while, and the next call must not write to it
        // meanwhile (it would fail as a closed connection, not try a new one).
        let (channel, pending) = state.withLock { state -> ((any Channel)?, [CallContinuation]) in
            guard case .open(let connection) = state.phase else { return (nil, []) }
            state.phase = .idle
            state.generation += 1  // the old connection's end concerns no later call
            let pending = Array(state.pending.values)
            state.pending = [:]
            return (connection.channel, pending)
        }
        for call in pending {
            call.resume(returning: .failure(.closed("connection dropped after a call went unanswered")))
        }
        channel?.close(promise: nil)
    }

    /// Resumes call `id`; false when it was already finished.
    @discardableResult
    private func finish(_ id: Int64, _ result: Result<Reply, CallFailure>) -> Bool {
        guard let continuation = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        continuation.resume(returning: result)
        return true
    }

    /// An open connection, opened now if need be (and the backoff allows), before `deadline`.
    private func connect(deadline: Int64) async -> Result<Connection, CallFailure> {
        let now = MonotonicClock.nowNanoseconds()
        let backoff = state.withLock { state -> Int64? in
            guard case .idle = state.phase, now < state.retryAt else { return nil }
            return (state.retryAt - now) / 1_000_000
        }
        if let backoff { return .failure(.backingOff(milliseconds: backoff)) }
        let waiter = state.withLock { state -> Int in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        // One timer per connection attempt a call waits for, not per call.
        let timer = Mutex<Task<Void, Never>?>(nil)
        defer { timer.withLock { $0?.cancel() } }
        return await withCheckedContinuation { continuation in
            enum Next {
                case ready(Connection)
                case wait
                case start(Int)
            }
            let next = state.withLock { state -> Next in
                switch state.phase {
                case .open(let connection):
                    return .ready(connection)
                case .connecting(let channel, var waiters):
                    waiters[waiter] = continuation
                    state.phase = .connecting(channel: channel, waiters: waiters)
                    return .wait
                case .idle:
                    state.generation += 1
                    state.phase = .connecting(channel: nil, waiters: [waiter: continuation])
                    return .start(state.generation)
                }
            }
            switch next {
            case .ready(let connection):
                continuation.resume(returning: .success(connection))
                return
            case .start(let generation):
                logger.debug("opening WebSocket", metadata: ["host": "\(host)", "port": "\(port)"])
                open(generation: generation)
            case .wait:
                break
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
        }
    }

    private func resumeWaiter(_ waiter: Int, _ result: Result<Connection, CallFailure>) {
        let continuation = state.withLock { state -> OpenContinuation? in
            guard case .connecting(let channel, var waiters) = state.phase,
                let continuation = waiters.removeValue(forKey: waiter)
            else { return nil }
            state.phase = .connecting(channel: channel, waiters: waiters)
            return continuation
        }
        continuation?.resume(returning: result)
    }

    /// Opens connection `generation`: TCP, the HTTP upgrade, then `RPCFrameHandler`, all on
    /// the channel's event loop; its end (at any stage) comes back through `closed`.
    private func open(generation: Int) {
        let host = host
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let maxFrameBytes = RPCWebSocket.maxFrameBytes
        ClientBootstrap(group: eventLoopGroup)
            // A reply is a few KiB: small reads to start with, grown only if a device needs it.
            .channelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 65536)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: hostHeader)
                    headers.add(name: "Content-Length", value: "0")
                    let upgrader = RPCWebSocketUpgrader(maxFrameSize: maxFrameBytes) {
                        RPCFrameHandler(session: self, generation: generation, maxMessageBytes: maxFrameBytes)
                    }
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<RPCWebSocketUpgrade>(
                        upgradeRequestHead: HTTPRequestHead(
                            version: .http1_1, method: .GET, uri: "/rpc", headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(.refused) }
                    )
                    let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                    self.connected(channel, generation: generation)
                    negotiated.whenComplete { result in
                        self.negotiated(result, channel: channel, generation: generation)
                    }
                    // However it ends, before or after the upgrade.
                    channel.closeFuture.whenComplete { _ in
                        self.closed(.closed("closed by the device"), generation: generation)
                    }
                }
            }
            .connect(host: host, port: port)
            .whenFailure { error in self.closed(.closed("\(error)"), generation: generation) }
    }

    /// The TCP connection of attempt `generation` exists: `close()` can close it from now.
    private func connected(_ channel: any Channel, generation: Int) {
        let stale = state.withLock { state -> Bool in
            guard state.generation == generation, case .connecting(_, let waiters) = state.phase else { return true }
            state.phase = .connecting(channel: channel, waiters: waiters)
            return false
        }
        if stale { channel.close(promise: nil) }
    }

    private func negotiated(_ result: Result<RPCWebSocketUpgrade, any Error>, channel: any Channel, generation: Int) {
        switch result {
        case .success(.open(let handler)):
            let connection = Connection(channel: channel, handler: handler)
            let waiters = state.withLock { state -> [OpenContinuation]? in
                guard state.generation == generation, case .connecting(_, let waiters) = state.phase else { return nil }
                state.phase = .open(connection)
                state.failedAttempts = 0
                return Array(waiters.values)
            }
            guard let waiters else {
                channel.close(promise: nil)
                return
            }
            for waiter in waiters { waiter.resume(returning: .success(connection)) }
        case .success(.refused):
            closed(.upgradeRefused, generation: generation)
            channel.close(promise: nil)
        case .failure(let error as NIOHTTPClientUpgradeError):
            // A 101 without the proof of a WebSocket server is no WebSocket either.
            closed(error == .upgraderDeniedUpgrade ? .upgradeRefused : .closed("\(error)"), generation: generation)
            channel.close(promise: nil)
        case .failure(let error):
            closed(.closed("\(error)"), generation: generation)
            channel.close(promise: nil)
        }
    }

    /// A frame the device sent (see `RPCWebSocket.read`).
    func deliver(_ bytes: [UInt8]) {
        switch RPCWebSocket.read(bytes) {
        case .reply(let id, let reply):
            finish(id, .success(reply))
        case .notification:
            break
        case .unreadable(let error):
            let ids = state.withLock { Array($0.pending.keys) }
            for id in ids { finish(id, .failure(.payload(error))) }
        }
    }

    /// Connection `generation` ended (or could not be opened) with `failure`: its waiters and
    /// calls fail; one that never opened backs the next attempt off.
    func closed(_ failure: CallFailure, generation: Int) {
        let (waiters, pending) = state.withLock { state -> ([OpenContinuation], [CallContinuation]) in
            guard state.generation == generation else { return ([], []) }
            var waiters: [OpenContinuation] = []
            switch state.phase {
            case .idle:
                return ([], [])
            case .connecting(_, let waiting):
                waiters = Array(waiting.values)
                // Never opened: back off before the next attempt.
                state.failedAttempts += 1
                state.retryAt = RPCWebSocket.retryAt(
                    afterFailedAttempts: state.failedAttempts, now: MonotonicClock.nowNanoseconds())
            case .open:
                break
            }
            state.phase = .idle
            let pending = Array(state.pending.values)
            state.pending = [:]
            return (waiters, pending)
        }
        for waiter in waiters { waiter.resume(returning: .failure(failure)) }
        for call in pending { call.resume(returning: .failure(failure)) }
    }
}

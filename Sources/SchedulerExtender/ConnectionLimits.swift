import NIOCore

/// What a connection may hold, whatever its client does:
///
/// * reads are small (`readBytes`): a connection that has sent much and waits keeps a few
///   reads ahead in this process, which for hundreds of connections adds up;
/// * the kernel's send buffer is capped. Left alone, Linux grows it for a client that does
///   not read up to `tcp_wmem`'s maximum (4 MiB by default), memory the container is charged
///   for; capped, an unread answer stays in this process, where the byte budget counts it;
/// * a connection whose writes make no progress for `stallTimeout` is closed: Hummingbird's
///   idle timeout does not fire while an answer is being written, so a client that stops
///   reading would hold its connection, and the answer, for ever;
/// * ``whenDrained(_:)`` tells when everything written so far has gone to the kernel.
final class ConnectionLimits: ChannelOutboundHandler, RemovableChannelHandler {
    // Writes pass through untouched: only their completion is watched.
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let sendBufferBytes: Int
    private let readBytes: Int
    private let stallTimeout: TimeAmount
    /// Writes handed on and not yet completed.
    private var pending = 0
    /// When a write last completed, or the first of the pending ones was made.
    private var lastProgress = NIODeadline.now()
    private var stallCheck: Scheduled<Void>?
    private var drainWaiters: [EventLoopPromise<Void>] = []

    init(sendBufferBytes: Int, readBytes: Int, stallTimeout: TimeAmount) {
        self.sendBufferBytes = sendBufferBytes
        self.readBytes = readBytes
        self.stallTimeout = stallTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // A socket that refuses an option keeps the default: nothing to report.
        try? context.channel.syncOptions?.setOption(
            ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(sendBufferBytes))
        try? context.channel.syncOptions?.setOption(
            ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: readBytes))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stallCheck?.cancel()
        stallCheck = nil
        completeDrainWaiters()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let promise = promise ?? context.eventLoop.makePromise()
        if pending == 0 { lastProgress = .now() }
        pending += 1
        promise.futureResult.assumeIsolated().whenComplete { _ in self.writeCompleted() }
        context.write(data, promise: promise)
        if stallCheck == nil { scheduleStallCheck(eventLoop: context.eventLoop, channel: context.channel) }
    }

    /// Succeeds once every write made on `channel` so far has completed (or failed, as when
    /// the connection closes). Call it on the channel's event loop.
    static func whenDrained(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard let limit = try? channel.pipeline.syncOperations.handler(type: ConnectionLimits.self), limit.pending > 0 else {
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        limit.drainWaiters.append(promise)
        return promise.futureResult
    }

    private func writeCompleted() {
        pending -= 1
        lastProgress = .now()
        if pending == 0 { completeDrainWaiters() }
    }

    private func completeDrainWaiters() {
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter.succeed() }
    }

    private func scheduleStallCheck(eventLoop: any EventLoop, channel: any Channel) {
        stallCheck = eventLoop.assumeIsolated().scheduleTask(deadline: lastProgress + stallTimeout) {
            self.stallCheck = nil
            guard self.pending > 0 else { return }
            if NIODeadline.now() >= self.lastProgress + self.stallTimeout {
                channel.close(promise: nil)
            } else {
                self.scheduleStallCheck(eventLoop: eventLoop, channel: channel)
            }
        }
    }
}

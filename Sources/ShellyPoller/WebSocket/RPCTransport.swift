/// A plug's persistent RPC channel over WebSocket, as `PlugSession` and `CallDeadlines` use
/// it: `EventLoopRPCWebSocket` for `ws://`, `RPCWebSocket` for `wss://` (it brings TLS).
protocol RPCTransport: AnyObject, Sendable {
    /// Calls `method` with `params` (a JSON object text) and `auth` (a JSON object text, if
    /// any) and returns the reply frame, parsed; before `deadline` (monotonic nanoseconds).
    func call(
        method: String, params: String, auth: String?, deadline: Int64
    ) async -> Result<RPCWebSocket.Reply, RPCWebSocket.CallFailure>
    /// Closes the connection; pending calls fail.
    func close()
    /// Called by `CallDeadlines` when call `id`'s deadline has passed.
    func deadlinePassed(_ id: Int64)
}

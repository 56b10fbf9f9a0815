import CurlClient
import Foundation
import Logging
import SchedulerExtender
import Scoring
import TestSupport
import UserInput

/// An extender running in this process on a free loopback port, with a client to talk to it.
struct RunningExtender: Sendable {
    let port: Int
    let metrics: ExtenderMetrics
    let watcher: KnowledgeBaseWatcher
    let client: CurlMultiClient

    var base: String { "http://127.0.0.1:\(port)" }

    /// POSTs `body`; the timeout is generous because a debug build on a busy machine scores
    /// large bodies slowly, and the tests judge answers, not speed.
    func post(_ path: String, _ body: [UInt8]) async throws -> CurlClient.HTTPResponse {
        try await client.perform(
            HTTPRequest(
                url: base + path, method: "POST", headers: ["Content-Type: application/json"], body: body,
                timeoutMilliseconds: 30_000)
        )
    }

    /// GETs `path`, with the same generous timeout as `post`.
    func get(_ path: String) async throws -> CurlClient.HTTPResponse {
        try await client.perform(HTTPRequest(url: base + path, timeoutMilliseconds: 30_000))
    }

    /// The value of one exposition line, e.g. `energy_monitor_scoring_diagnostics_total{reason="power_stale"}`.
    func metric(_ series: String) async throws -> Double? {
        let text = String(decoding: try await get("/metrics").body, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// Starts the extender in this process on 127.0.0.1 with an OS-chosen port, runs `body`, and
/// stops the server again (bounded: the server must be up within 60 s, which a debug build
/// starting several at once beside other test processes needs).
func withExtender<T: Sendable>(
    knowledgeBase path: String,
    maxBodyBytes: Int = ExtenderServer.Configuration.defaultMaxBodyBytes,
    idleTimeout: Duration = ExtenderServer.Configuration.defaultIdleTimeout,
    stallTimeout: Duration = ExtenderServer.Configuration.defaultStallTimeout,
    pollInterval: Duration = .milliseconds(100),
    nodeView: NodeViewWatcher? = nil,
    metrics: ExtenderMetrics = ExtenderMetrics(),
    logs: LogRecorder? = nil,
    _ body: @Sendable (RunningExtender) async throws -> T
) async throws -> T {
    var logger = logs.map { recorder in Logger(label: "extender-tests") { _ in recorder } } ?? Logger(label: "extender-tests")
    logger.logLevel = logs == nil ? .critical : .info
    let watcher = try KnowledgeBaseWatcher(path: path, pollInterval: pollInterval, logger: logger)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let application = ExtenderServer.makeApplication(
        configuration: .init(
            listen: ListenAddress(host: "127.0.0.1", port: 0), maxBodyBytes: maxBodyBytes, idleTimeout: idleTimeout,
            stallTimeout: stallTimeout),
        watcher: watcher,
        nodeView: nodeView,
        metrics: metrics,
        logger: logger,
        onServerRunning: { continuation.yield($0) }
    )
    let client = CurlMultiClient()
    defer { client.shutdown() }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await application.run() }
        defer { group.cancelAll() }
        let port = try await withTimeout(.seconds(60), "the extender to listen") {
            for await port in ports { return port }
            throw TimeoutError(what: "a port (stream ended)")
        }
        return try await body(RunningExtender(port: port, metrics: metrics, watcher: watcher, client: client))
    }
}

import CurlClient
import Foundation
import Logging
import SchedulerExtender
import Scoring

/// Paths of the package and of the public data every checkout has at `../shared`.
enum Paths {
    /// The package root, found from this file: Tests/SchedulerExtenderTests/TestSupport.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SchedulerExtenderTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root

    /// `../shared`, read in place and never copied into the repository.
    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let kubernetesFixtures = shared.appendingPathComponent("fixtures/kubernetes")
    static let thesis = shared.appendingPathComponent("thesis")

    /// The built command-line tool (`swift build` puts it there).
    static let binary = packageRoot.appendingPathComponent(".build/debug/energy-monitor").path
    /// The repository's knowledge-base ConfigMap manifest (real node names, thesis figures).
    static let knowledgeBaseManifest = packageRoot.appendingPathComponent("k8s/scheduler/knowledge-base.yaml").path

    static var kubernetesFixturesAvailable: Bool {
        FileManager.default.fileExists(atPath: kubernetesFixtures.appendingPathComponent("SOURCES.md").path)
    }

    static var thesisAvailable: Bool {
        FileManager.default.fileExists(atPath: thesis.appendingPathComponent("thesis_simulation_data.csv").path)
            && FileManager.default.fileExists(atPath: thesis.appendingPathComponent("knowledge-base.yaml").path)
    }

    static var binaryAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    static func kubernetesFixture(_ name: String) throws -> Data {
        try Data(contentsOf: kubernetesFixtures.appendingPathComponent(name))
    }
}

/// A scratch directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("extender-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name`, replacing the file in one rename as editors and the kubelet do.
    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        let path = path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `operation`, failing with `TimeoutError` when it takes longer than `limit`.
func withTimeout<T: Sendable>(
    _ limit: Duration,
    _ what: String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Polls `condition` every 50 ms until it holds or `limit` passes; returns whether it held.
func eventually(within limit: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// An extender running in this process on a free loopback port, with a client to talk to it.
struct RunningExtender: Sendable {
    let port: Int
    let metrics: ExtenderMetrics
    let watcher: KnowledgeBaseWatcher
    let client: CurlMultiClient

    var base: String { "http://127.0.0.1:\(port)" }

    func post(_ path: String, _ body: [UInt8]) async throws -> CurlClient.HTTPResponse {
        try await client.perform(
            HTTPRequest(url: base + path, method: "POST", headers: ["Content-Type: application/json"], body: body)
        )
    }

    func get(_ path: String) async throws -> CurlClient.HTTPResponse {
        try await client.perform(HTTPRequest(url: base + path))
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
/// stops the server again (bounded: the server must be up within 10 s).
func withExtender<T: Sendable>(
    knowledgeBase path: String,
    maxBodyBytes: Int = ExtenderServer.Configuration.defaultMaxBodyBytes,
    pollInterval: Duration = .milliseconds(100),
    _ body: @Sendable (RunningExtender) async throws -> T
) async throws -> T {
    var logger = Logger(label: "extender-tests")
    logger.logLevel = .critical
    let watcher = try KnowledgeBaseWatcher(path: path, pollInterval: pollInterval, logger: logger)
    let metrics = ExtenderMetrics()
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let application = ExtenderServer.makeApplication(
        configuration: .init(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes),
        watcher: watcher,
        metrics: metrics,
        logger: logger,
        onServerRunning: { continuation.yield($0) }
    )
    let client = CurlMultiClient()
    defer { client.shutdown() }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await application.run() }
        defer { group.cancelAll() }
        let port = try await withTimeout(.seconds(10), "the extender to listen") {
            for await port in ports { return port }
            throw TimeoutError(what: "a port (stream ended)")
        }
        return try await body(RunningExtender(port: port, metrics: metrics, watcher: watcher, client: client))
    }
}

/// The result of running the command-line tool to completion.
struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the built `energy-monitor` with `arguments`, killing it after `limit`.
func runBinary(_ arguments: [String], limit: Duration = .seconds(20)) async throws -> ProcessResult {
    try await runProcess(Paths.binary, arguments, limit: limit)
}

/// Runs `executable` with `arguments`, killing it after `limit`.
func runProcess(_ executable: String, _ arguments: [String], limit: Duration = .seconds(20)) async throws
    -> ProcessResult
{
    let scratch = try TemporaryDirectory()
    let outPath = scratch.path("stdout")
    let errPath = scratch.path("stderr")
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    // Files rather than pipes: no deadlock on a full pipe, and the output survives a kill.
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    try process.run()
    let deadline = ContinuousClock.now + limit
    while process.isRunning && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw TimeoutError(what: "\(executable) \(arguments.joined(separator: " ")) to exit")
    }
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    )
}

import Foundation

/// Polls `condition` every `interval` until it holds or `limit` passes; returns whether it
/// held (checked once more at the deadline). The one bounded wait of the test suite.
public func eventually(
    within limit: Duration = .seconds(5),
    every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// An operation that took longer than its limit.
public struct TimeoutError: Error, CustomStringConvertible {
    /// What was waited for.
    public let what: String
    /// Creates the error.
    public init(what: String) { self.what = what }
    /// One line.
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `operation`, failing with `TimeoutError` when it takes longer than `limit`.
public func withTimeout<T: Sendable>(
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
        guard let result = try await group.next() else { throw TimeoutError(what: what) }
        return result
    }
}

/// A scratch directory removed when the value is released.
public final class TemporaryDirectory: Sendable {
    /// Its location.
    public let url: URL

    /// Creates a new, empty directory under the system's temporary folder.
    public init(_ prefix: String = "energy-monitor-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Its path.
    public var path: String { url.path }

    /// The path of `name` inside it.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name`, replacing the file in one rename as editors and the kubelet do.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let path = path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Runs `work` on a thread of its own and waits for it without holding a thread of the
/// cooperative pool: a long synchronous scan (every source file, a large document) on one of
/// the pool's two threads of a 2-core machine leaves the in-process servers of other tests
/// nothing to answer with, and their polls run into their deadlines.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// For tests that compare hours the code under test computes from the wall clock with hours
/// they compute themselves (a run that crossed an hour's end would compare two different
/// hours): waits for the next hour when less than 5 minutes of this one are left. Such tests
/// take seconds, about two minutes on an overloaded machine.
public func clearOfTheHourEnd() async throws {
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let left = 3_600_000 - now % 3_600_000
    if left < 300_000 { try await Task.sleep(for: .milliseconds(left + 1000)) }
}

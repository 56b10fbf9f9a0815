import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A process started by a test, with its output in files; stopped (SIGTERM, then SIGKILL)
/// when the test ends so nothing outlives it.
public final class ChildProcess: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is only started in `init` and then only signalled and
    // waited for; Foundation's Process is thread-safe for those calls.
    public let process = Process()
    /// Where standard output goes.
    public let stdoutPath: String
    /// Where standard error goes.
    public let stderrPath: String

    /// Starts `executable` in `folder`; its output goes to `folder/name.stdout` and `.stderr`.
    public init(
        _ executable: String, _ arguments: [String], in folder: String, name: String,
        environment: [String: String]? = nil
    ) throws {
        stdoutPath = "\(folder)/\(name).stdout"
        stderrPath = "\(folder)/\(name).stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        (process.executableURL, process.arguments) = withDefaultSignals(executable, arguments)
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        end()
    }

    /// Standard output so far.
    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    /// Standard error so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    /// Both, for failure messages.
    public var output: String { stdout + stderr }
    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }
    /// Its process id.
    public var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit status (nil when killed).
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        return Self.exited(process, within: grace) ? process.terminationStatus : nil
    }

    /// Waits (blocking) up to `grace` for a signalled `process` to exit, then sends SIGKILL
    /// and waits for that; whether it exited within `grace`.
    private static func exited(_ process: Process, within grace: Duration) -> Bool {
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline {
            usleep(20_000)
        }
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }

    /// Ends the process without holding up the caller: SIGTERM now; a thread of its own waits
    /// for it and sends SIGKILL after `grace`. For clean-up (`defer`, `deinit`): a test's
    /// clean-up runs on one of the few threads that every test's async work shares (as many as
    /// cores), and a blocking wait there stalls in-process servers and timers of other tests.
    public func end(grace: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let process = process
        Thread.detachNewThread { _ = Self.exited(process, within: grace) }
    }

    /// Waits for the process to exit by itself, at most `timeout`.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// The result of a command run to completion.
public struct ProcessResult: Sendable {
    /// Exit status.
    public let status: Int32
    /// Standard output.
    public let stdout: String
    /// Standard error.
    public let stderr: String
}

/// A command that did not finish in time.
public struct ProcessTimeout: Error, CustomStringConvertible {
    /// The command line.
    public let command: String
    /// One line.
    public var description: String { "\(command): did not exit in time (killed)" }
}

/// Runs a command to completion (killed after `timeout`, which then throws) and returns
/// status and output. Output goes to files, so a full pipe never blocks the child.
public func runProcess(
    _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(60)
) async throws -> ProcessResult {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let process = Process()
    (process.executableURL, process.arguments) = withDefaultSignals(executable, arguments)
    let out = folder + "/out"
    let err = folder + "/err"
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: out)
    process.standardError = FileHandle(forWritingAtPath: err)
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    }
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(10))
    }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ProcessTimeout(command: ([executable] + arguments).joined(separator: " "))
    }
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
    )
}

/// Runs the built `energy-monitor` with `arguments` (see `runProcess`).
public func runBinary(_ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(60)) async throws
    -> ProcessResult
{
    try await runProcess(TestPaths.binary, arguments, stdin: stdin, timeout: timeout)
}

/// Runs `sqlite3 -csv` and returns the rows.
public func sqliteRows(_ database: String, _ query: String) async throws -> [[String]] {
    let result = try await runProcess("/usr/bin/env", ["sqlite3", "-csv", database, query])
    guard result.status == 0 else { throw TestSupportError("sqlite3 failed for \(query): \(result.stderr)") }
    return result.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
}

/// Runs `executable` through a tiny exec wrapper that restores the default handling of
/// SIGTERM and SIGINT: a test process that ran a service in-process may ignore or block
/// them, and children inherit both, which would make `stop()` wait for SIGKILL.
func withDefaultSignals(_ executable: String, _ arguments: [String]) -> (URL, [String]) {
    let reset =
        "import os, signal, sys\n"
        + "for s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_DFL)\n"
        + "signal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
        + "os.execvp(sys.argv[1], sys.argv[1:])"
    return (URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", reset, executable] + arguments)
}

/// A failure of the test machinery itself (a helper that could not start), in one line.
public struct TestSupportError: Error, CustomStringConvertible {
    /// One line.
    public let description: String
    /// Creates the error.
    public init(_ description: String) { self.description = description }
}

/// The first line a helper process prints on `pipe` (its ports, as JSON), waiting at most
/// `timeout`; what came before the deadline or the end of output otherwise.
func readFirstLine(of pipe: Pipe, timeout: TimeInterval = 20) -> Data {
    var line = Data()
    let reader = pipe.fileHandleForReading
    let deadline = Date().addingTimeInterval(timeout)
    while !line.contains(UInt8(ascii: "\n")), Date() < deadline {
        let chunk = reader.availableData
        if chunk.isEmpty { break }
        line.append(chunk)
    }
    return line
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A process started by a test, with its output in files; stopped (SIGTERM, then SIGKILL)
/// when the test ends so nothing outlives it.
final class ChildProcess: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is only started in `init` and then only signalled and
    // waited for; Foundation's Process is thread-safe for those calls.
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ executable: String, _ arguments: [String], in folder: String, name: String, environment: [String: String]? = nil) throws {
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
        stop()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit status.
    @discardableResult
    func stop(grace: Duration = .seconds(10)) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline {
            usleep(20_000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// Waits for the process to exit by itself, at most `timeout`.
    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            usleep(20_000)
        }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// Runs a command to completion (bounded) and returns status and output.
func runCommand(
    _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(60)
) throws -> (status: Int32, stdout: String, stderr: String) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let process = Process()
    (process.executableURL, process.arguments) = withDefaultSignals(executable, arguments)
    let out = folder + "/out", err = folder + "/err"
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
    while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    return (
        process.terminationStatus,
        (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
        (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
    )
}

/// Runs `executable` through a tiny exec wrapper that restores the default handling of
/// SIGTERM and SIGINT: a test process that ran a service in-process may ignore or block
/// them, and children inherit both, which would make `stop()` wait for SIGKILL.
func withDefaultSignals(_ executable: String, _ arguments: [String]) -> (URL, [String]) {
    let reset = "import os, signal, sys\n"
        + "for s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_DFL)\n"
        + "signal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
        + "os.execv(sys.argv[1], sys.argv[1:])"
    return (URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", reset, executable] + arguments)
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process of a test, with its output in a file and a bounded stop.
final class ChildProcess: @unchecked Sendable {
    // `@unchecked`: `process` is only touched by the test task that owns this object.
    let process = Process()
    let logPath: String

    init(_ executable: String, _ arguments: [String], log: String) throws {
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        // Test runners may leave SIGTERM blocked, and children inherit the mask: clear it
        // before exec so that `stop()` can end the child gracefully.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import os, signal, sys\nfor s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_DFL)\n"
                + "signal.pthread_sigmask(signal.SIG_SETMASK, [])\nos.execv(sys.argv[1], sys.argv[1:])",
            executable,
        ] + arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Finds `count` consecutive free TCP ports on 127.0.0.1.
func freeConsecutivePorts(_ count: Int) -> Int? {
    for _ in 0..<200 {
        let base = Int.random(in: 20_000...60_000 - count)
        if (base..<base + count).allSatisfy(isFree) { return base }
    }
    return nil
}

private func isFree(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Runs `sqlite3 -csv` and returns the rows.
func sqliteRows(_ database: String, _ query: String) throws -> [[String]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sqlite3", "-csv", database, query]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestSupportError("sqlite3 failed for \(query)") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
}

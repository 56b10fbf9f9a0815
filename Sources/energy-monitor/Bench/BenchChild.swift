import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process of `bench` (the simulator, the service, node-exporter, wrk) with its
/// output in a log file. `stop()` ends it: SIGTERM, then SIGKILL after a grace period.
final class BenchChild {
    let name: String
    let logPath: String
    private let process: Process

    /// Starts `executable` with `arguments`, standard output and error appended to `logPath`.
    init(name: String, executable: String, arguments: [String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        guard FileManager.default.createFile(atPath: logPath, contents: nil),
            let log = FileHandle(forWritingAtPath: logPath)
        else {
            throw CommandFailure("bench: cannot write \(logPath)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw CommandFailure("bench: cannot start \(name) (\(executable)): \(error.localizedDescription)")
        }
    }

    deinit {
        stop()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Waits up to `seconds` for the process to exit on its own; true if it did.
    func waitForExit(seconds: Double) async -> Bool {
        let deadline = WallClockSeconds.now() + seconds
        while process.isRunning, WallClockSeconds.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !process.isRunning
    }

    /// Ends the process: SIGTERM, and SIGKILL if it is still running after `grace` seconds.
    func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = WallClockSeconds.now() + grace
        while process.isRunning, WallClockSeconds.now() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The last `count` lines of the log, joined with " | " for a one-line message.
    func logTail(_ count: Int = 3) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isNewline).suffix(count).joined(separator: " | ")
    }

    /// The path of an executable named `name` on `PATH`, if any.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// This program's own executable, for spawning `simulate` and `run`.
    static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return CommandLine.arguments[0]
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() -> Int? {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return nil }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Wall-clock seconds for the bench's waits.
enum WallClockSeconds {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.
struct ProcessUsage {
    /// User plus system CPU seconds since the process started.
    var cpuSeconds: Double
    /// Resident memory now, bytes.
    var residentBytes: Int
    /// Peak resident memory, bytes.
    var peakResidentBytes: Int
    /// Resident anonymous memory (heap, stacks, written data), bytes.
    var anonymousBytes = 0
    /// Resident file-backed memory (mapped code and data of the program and its libraries), bytes.
    var fileBytes = 0
    /// Voluntary context switches of all the process's threads since they started: each is a
    /// thread that went to sleep, and a wake-up later.
    var voluntarySwitches = 0

    static func read(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var usage = ProcessUsage(cpuSeconds: (user + system) / ticks, residentBytes: 0, peakResidentBytes: 0)
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" })
                guard parts.count >= 2, let kibibytes = Int(parts[1]) else { continue }
                if parts[0] == "VmRSS" { usage.residentBytes = kibibytes * 1024 }
                if parts[0] == "VmHWM" { usage.peakResidentBytes = kibibytes * 1024 }
                if parts[0] == "RssAnon" { usage.anonymousBytes = kibibytes * 1024 }
                if parts[0] == "RssFile" { usage.fileBytes = kibibytes * 1024 }
            }
        }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            else { continue }
            for line in status.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") {
                let digits = line.drop { !$0.isNumber }
                usage.voluntarySwitches += Int(digits) ?? 0
            }
        }
        return usage
    }
}

/// The memory a process touched over a while: the kernel's referenced bits of its pages,
/// cleared through `/proc/<pid>/clear_refs` and read back from `/proc/<pid>/smaps`. Of what is
/// resident, this is what the process keeps using; file-backed pages touched only once (start-up
/// code, configuration parsing) stay resident until the kernel needs the memory.
struct WorkingSet {
    /// Referenced anonymous memory, bytes.
    var anonymousBytes = 0
    /// Referenced file-backed memory (pages of a mapped file not copied on write), bytes.
    var fileBytes = 0

    /// Clears the referenced bits of every page of `pid`; false if that is not allowed here.
    static func reset(pid: Int32) -> Bool {
        let descriptor = open("/proc/\(pid)/clear_refs", O_WRONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return write(descriptor, "1", 1) == 1
    }

    /// The pages of `pid` referenced since the last `reset`, by kind. In a file mapping, its
    /// anonymous pages (copied on write, e.g. relocated data) count as anonymous.
    static func read(pid: Int32) -> WorkingSet? {
        guard let smaps = try? String(contentsOfFile: "/proc/\(pid)/smaps", encoding: .utf8) else { return nil }
        var set = WorkingSet()
        var fileMapping = false
        var referenced = 0
        func finish(anonymous: Int) {
            let anonymousReferenced = fileMapping ? min(referenced, anonymous) : referenced
            set.anonymousBytes += anonymousReferenced * 1024
            set.fileBytes += (referenced - anonymousReferenced) * 1024
        }
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-"), fields.count >= 5, first.first?.isHexDigit == true {
                // A mapping's header: address, permissions, offset, device, inode, path.
                fileMapping = fields[4] != "0"
                referenced = 0
            } else if first == "Referenced:", fields.count >= 2 {
                referenced = Int(fields[1]) ?? 0
            } else if first == "Anonymous:", fields.count >= 2 {
                // Comes after Referenced: in each mapping's block.
                finish(anonymous: Int(fields[1]) ?? 0)
                referenced = 0
            }
        }
        return set
    }
}

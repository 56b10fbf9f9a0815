import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One run of an external program with a time bound: standard output collected (bounded),
/// the tail of standard error kept for the error message, standard input closed unless the
/// run may talk to the user. The program runs in a process group of its own, so that at the
/// deadline the whole group is killed: a shell script's `sleep` must not keep the output pipe
/// open after its shell is gone. Everything blocking happens on a thread of its own, never on
/// the cooperative pool.
struct BoundedProcess {
    /// How a run ended.
    enum Outcome: Sendable, Equatable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signalled(Int32)
        /// It did not finish within the bound and was killed.
        case timedOut
    }

    /// What a run produced.
    struct Result: Sendable {
        var outcome: Outcome
        var stdout: [UInt8]
        /// The last bytes of standard error (empty when it was the caller's).
        var stderrTail: [UInt8]
        /// Standard output went over `maxOutputBytes` (the rest was dropped).
        var outputTruncated: Bool
    }

    /// Why a run did not start.
    enum StartFailure: Error, Sendable, Equatable {
        /// No such executable (`ENOENT` from the lookup).
        case notFound
        /// Any other refusal, with `strerror`'s text.
        case failed(String)
    }

    var executable: String
    var arguments: [String]
    var environment: [String]
    /// Standard input and error are the caller's (a terminal), and the program stays in the
    /// caller's process group so that it may read from the terminal.
    var interactive: Bool
    var timeout: Duration
    var maxOutputBytes = 1 << 20
    static let stderrTailBytes = 2048

    /// Runs the program to its end or the deadline.
    func run() async throws(StartFailure) -> Result {
        let outcome: Swift.Result<Result, StartFailure> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: runBlocking()) }
            thread.name = "exec-plugin"
            thread.start()
        }
        return try outcome.get()
    }

    private func runBlocking() -> Swift.Result<Result, StartFailure> {
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard Self.makePipe(&output) else { return .failure(.failed(String(cString: strerror(errno)))) }
        if !interactive, !Self.makePipe(&errors) {
            close(output[0])
            close(output[1])
            return .failure(.failed(String(cString: strerror(errno))))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if !interactive {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A test runner or a service may block signals; the plugin starts with none blocked
        // and every handler at its default.
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        if !interactive {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = executable.contains("/")
            ? posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            : Self.spawnSearchingPath(&pid, executable, &actions, &attributes, argv, envp, environment: environment)
        close(output[1])
        if !interactive { close(errors[1]) }
        guard spawned == 0 else {
            close(output[0])
            if !interactive { close(errors[0]) }
            return .failure(spawned == ENOENT ? .notFound : .failed(String(cString: strerror(spawned))))
        }
        return .success(collect(pid: pid, output: output[0], errors: interactive ? -1 : errors[0]))
    }

    /// A pipe whose ends the program does not inherit (its own ends are `dup2`ed in place).
    private static func makePipe(_ descriptors: inout [Int32]) -> Bool {
        guard pipe(&descriptors) == 0 else { return false }
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// `posix_spawnp` looks `PATH` up in this process's environment; the plugin's own `PATH`
    /// (from `env:`) is the one kubectl would search, so look there first.
    private static func spawnSearchingPath(
        _ pid: inout pid_t, _ name: String, _ actions: inout posix_spawn_file_actions_t,
        _ attributes: inout posix_spawnattr_t, _ argv: [UnsafeMutablePointer<CChar>?],
        _ envp: [UnsafeMutablePointer<CChar>?], environment: [String]
    ) -> Int32 {
        let path = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/bin:/usr/bin:/bin"
        var lastError = ENOENT
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + name
            guard access(candidate, X_OK) == 0 else { continue }
            let result = posix_spawn(&pid, candidate, &actions, &attributes, argv, envp)
            if result == 0 { return 0 }
            lastError = result
        }
        return lastError
    }

    private func collect(pid: pid_t, output: Int32, errors: Int32) -> Result {
        let deadline = ContinuousClock.now + timeout
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var truncated = false
        var open = [output] + (errors >= 0 ? [errors] : [])
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var status: Int32 = 0
        var reaped = false
        var timedOut = false
        // After the program exits, output still in the pipes is read for a moment; a process
        // it left behind that holds them open is not waited for.
        var drainUntil: ContinuousClock.Instant?
        while true {
            let now = ContinuousClock.now
            if let drainUntil, open.isEmpty || now >= drainUntil { break }
            if drainUntil == nil, now >= deadline {
                timedOut = true
                break
            }
            if !reaped, waitpid(pid, &status, WNOHANG) == pid {
                reaped = true
                drainUntil = min(deadline, now + .milliseconds(200))
                continue
            }
            if open.isEmpty {
                // Output closed: wait for the exit (a program may close its output and go on).
                usleep(10_000)
                continue
            }
            let remaining = (drainUntil ?? deadline) - now
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            // Short polls: the exit is noticed by `waitpid` above, not by the pipes.
            let milliseconds = Int32(clamping: max(1, min(remaining.components.seconds * 1000 + 1, 50)))
            let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
            if ready < 0, errno == EINTR { continue }
            for entry in descriptors where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if count < 0, errno == EINTR || errno == EAGAIN { continue }
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                    continue
                }
                if entry.fd == output {
                    let room = maxOutputBytes - stdout.count
                    if count > room { truncated = true }
                    stdout.append(contentsOf: buffer[0..<min(count, max(0, room))])
                } else {
                    stderr.append(contentsOf: buffer[0..<count])
                    if stderr.count > Self.stderrTailBytes { stderr.removeFirst(stderr.count - Self.stderrTailBytes) }
                }
            }
        }
        for descriptor in open { close(descriptor) }
        if timedOut {
            // The group first (every process the plugin started), then the plugin itself in
            // case it left the group.
            if !interactive { kill(-pid, SIGKILL) }
            kill(pid, SIGKILL)
        }
        if !reaped {
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        }
        let outcome: Outcome
        if timedOut {
            outcome = .timedOut
        } else if status & 0x7F == 0 {
            outcome = .exited((status >> 8) & 0xFF)
        } else {
            outcome = .signalled(status & 0x7F)
        }
        return Result(outcome: outcome, stdout: stdout, stderrTail: stderr, outputTruncated: truncated)
    }
}

import EnergyModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Threads of the poll loop's own, as a `TaskExecutor`: the tasks that poll, advance the
/// counters and hand ticks to the store run here, never on the cooperative pool that the HTTP
/// servers' request handlers share. A flood of requests can keep that pool busy for seconds;
/// it cannot delay a tick, which needs a few milliseconds of CPU on a thread the kernel
/// schedules as fairly as any other.
///
/// It also keeps the time: `sleep(untilMonotonicNanoseconds:)` is woken by these threads on
/// the monotonic clock (`CLOCK_MONOTONIC`), so neither a busy pool nor a step of the wall clock
/// moves a tick.
///
/// `@unchecked Sendable`: `jobs`, `timers` and `stopping` are touched only with `mutex` locked.
public final class PollExecutor: TaskExecutor, @unchecked Sendable {
    private struct Timer {
        var deadline: Int64
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    // Allocated, not stored inline: a pthread object must never move, and Swift does not
    // promise a stable address for `&property`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var timers: [Timer] = []
    private var nextTimerID: UInt64 = 0
    private var stopping = false
    /// Threads not yet ended.
    private var running = 0

    /// Starts `threads` threads.
    public init(threads: Int = 1) {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        let count = max(1, threads)
        running = count
        for _ in 0..<count {
            let box = Unmanaged.passRetained(ThreadStart(executor: self))
            var thread = pthread_t()
            let result = pthread_create(
                &thread, nil,
                { argument in
                    guard let argument else { return nil }
                    let start = Unmanaged<ThreadStart>.fromOpaque(argument).takeRetainedValue()
                    start.run()
                    return nil
                }, box.toOpaque())
            if result == 0 {
                pthread_detach(thread)
            } else {
                box.release()
                lock()
                running -= 1
                unlock()
            }
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `job` on one of the threads (after `shutdown()`, once they have ended, on the
    /// global executor, so that a task still holding this preference is never stranded).
    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock()
        guard running > 0 else {
            unlock()
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
            return
        }
        jobs.append(unowned)
        pthread_cond_signal(condition)
        unlock()
    }

    /// Suspends the calling task until the monotonic clock reads `deadline` (nanoseconds, as
    /// `MonotonicClock.nowNanoseconds()`); throws `CancellationError` when the task is
    /// cancelled first, or once the executor is shut down.
    public func sleep(untilMonotonicNanoseconds deadline: Int64) async throws {
        let id = nextID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                lock()
                if stopping || Task.isCancelled {
                    unlock()
                    continuation.resume(throwing: CancellationError())
                    return
                }
                timers.append(Timer(deadline: deadline, id: id, continuation: continuation))
                pthread_cond_signal(condition)
                unlock()
            }
        } onCancel: {
            lock()
            let index = timers.firstIndex { $0.id == id }
            let timer = index.map { timers.remove(at: $0) }
            unlock()
            timer?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Lets the threads end once the jobs handed over so far have run; sleeping tasks are
    /// woken with `CancellationError`. Safe to call from one of the threads.
    public func shutdown() {
        lock()
        stopping = true
        let sleeping = timers
        timers.removeAll()
        pthread_cond_broadcast(condition)
        unlock()
        for timer in sleeping { timer.continuation.resume(throwing: CancellationError()) }
    }

    private func nextID() -> UInt64 {
        lock()
        defer { unlock() }
        nextTimerID &+= 1
        return nextTimerID
    }

    private func lock() { pthread_mutex_lock(mutex) }
    private func unlock() { pthread_mutex_unlock(mutex) }

    /// One thread's life: run jobs, wake sleepers whose time has come, wait for either.
    fileprivate func runThread() {
        while true {
            lock()
            var due: [Timer] = []
            var batch: [UnownedJob] = []
            while true {
                let now = MonotonicClock.nowNanoseconds()
                if !timers.isEmpty {
                    var kept: [Timer] = []
                    for timer in timers {
                        if timer.deadline <= now { due.append(timer) } else { kept.append(timer) }
                    }
                    timers = kept
                }
                if !jobs.isEmpty {
                    batch = jobs
                    jobs.removeAll(keepingCapacity: true)
                }
                if !due.isEmpty || !batch.isEmpty { break }
                if stopping {
                    running -= 1
                    unlock()
                    return
                }
                if let earliest = timers.map(\.deadline).min() {
                    var until = timespec(
                        tv_sec: Int(earliest / 1_000_000_000), tv_nsec: Int(earliest % 1_000_000_000))
                    pthread_cond_timedwait(condition, mutex, &until)
                } else {
                    pthread_cond_wait(condition, mutex)
                }
            }
            unlock()
            for timer in due { timer.continuation.resume() }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}

/// What a new thread needs: its executor.
private final class ThreadStart {
    let executor: PollExecutor

    init(executor: PollExecutor) {
        self.executor = executor
    }

    func run() {
        executor.runThread()
    }
}

extension PollExecutor {
    /// Sleeps until the monotonic clock reads `deadline`, woken by `executor`'s threads when
    /// given (else by the runtime's timer).
    static func sleep(untilMonotonicNanoseconds deadline: Int64, on executor: PollExecutor?) async throws {
        if let executor {
            try await executor.sleep(untilMonotonicNanoseconds: deadline)
        } else {
            let remaining = deadline - MonotonicClock.nowNanoseconds()
            if remaining > 0 { try await Task.sleep(for: .nanoseconds(remaining)) }
        }
    }
}

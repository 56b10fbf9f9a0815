import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The thread that runs the store's queries: a thread of its own for the store's whole life,
/// running one job at a time in order, at a lower CPU priority than the rest of the process
/// (nice +10).
///
/// Ten clients reading 31-day series in a loop keep it busy without a pause; on a machine of
/// two cores the tick writer, the poll loop and the HTTP server must not queue behind it for
/// the CPU. A dispatch queue cannot give that: its work runs on pool threads shared with the
/// writer's queue, and a pool thread once niced stays niced (lowering the nice value again
/// needs CAP_SYS_NICE, which the container drops).
///
/// `@unchecked Sendable`: `jobs` and `stopping` are touched only with `condition` locked.
final class QueryThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    /// Starts the thread, named `name`, at `nice` above the process's own nice value.
    init(name: String, nice: Int32 = 10) {
        let thread = Thread { [self] in
            // On Linux the nice value belongs to the thread; `0` names the calling one. A
            // failure leaves the thread at normal priority, which is only slower for ticks.
            let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + nice))
            runJobs()
        }
        thread.name = name
        thread.start()
    }

    /// Runs `job` on the thread, after the jobs handed over before it.
    func async(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `job` on the thread and waits for it.
    func sync(_ job: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        async {
            job()
            done.signal()
        }
        done.wait()
    }

    /// Lets the thread end once the jobs handed over so far are done.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            let done = batch.isEmpty && stopping
            condition.unlock()
            if done { return }
            for job in batch { job() }
        }
    }
}

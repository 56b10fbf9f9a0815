import Dispatch
import Synchronization

/// Blocking work run on a dispatch queue of its own and awaited with a time bound: the caller
/// gets the result, or nil once `timeout` has passed or its task is cancelled, whichever comes
/// first. Work that overruns is left to finish on its queue; nothing waits for it.
///
/// For reading files on behalf of a long-running server: a read from a hung network file
/// system cannot be interrupted, but it must hold neither the cooperative pool nor shutdown.
enum BlockingCall {
    static func run<Result: Sendable>(
        on queue: DispatchQueue, timeout: Duration, _ work: @escaping @Sendable () -> Result
    ) async -> Result? {
        let outcome = Outcome<Result>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                outcome.install(continuation)
                queue.async { outcome.resume(work()) }
                DispatchQueue.global().asyncAfter(deadline: .now() + dispatchInterval(timeout)) { outcome.resume(nil) }
            }
        } onCancel: {
            outcome.resume(nil)
        }
    }

    /// `duration` for `DispatchTime`, in whole nanoseconds (saturating at about 292 years).
    static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = max(seconds, 0).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .never }
        let (total, overflowAgain) = whole.addingReportingOverflow(max(attoseconds, 0) / 1_000_000_000)
        return overflowAgain ? .never : .nanoseconds(Int(truncatingIfNeeded: total))
    }

    /// Resumes the waiting caller exactly once: with the work's result, or with nil on timeout
    /// or cancellation, which may come before the continuation is installed.
    private final class Outcome<Result: Sendable>: Sendable {
        private enum State {
            case waiting(CheckedContinuation<Result?, Never>?)
            case decided(Result?)
            case resumed
        }

        private let state = Mutex(State.waiting(nil))

        func install(_ continuation: CheckedContinuation<Result?, Never>) {
            let early: Result?? = state.withLock { state in
                guard case .decided(let value) = state else {
                    state = .waiting(continuation)
                    return .none
                }
                state = .resumed
                return .some(value)
            }
            if let early { continuation.resume(returning: early) }
        }

        func resume(_ value: Result?) {
            let continuation: CheckedContinuation<Result?, Never>? = state.withLock { state in
                switch state {
                case .waiting(let continuation?):
                    state = .resumed
                    return continuation
                case .waiting(nil):
                    state = .decided(value)
                    return nil
                case .decided, .resumed:
                    return nil
                }
            }
            continuation?.resume(returning: value)
        }
    }
}

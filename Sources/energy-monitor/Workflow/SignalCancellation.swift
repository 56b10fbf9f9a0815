import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C and SIGTERM for a long command: the first cancels `task` (whose clean-up then
/// runs), a second ends the process at once with status 130.
final class SignalCancellation {
    private let sources: [any DispatchSourceSignal]

    init<T: Sendable>(task: Task<T, any Error>) {
        var sources: [any DispatchSourceSignal] = []
        let count = SignalCount()
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if count.increment() == 1 {
                    WorkflowOptions.say("interrupted: deleting this run's Jobs (signal again to quit at once)")
                    task.cancel()
                } else {
                    FileHandle.standardError.write(
                        Data("energy-monitor: error: interrupted twice; Jobs may be left behind\n".utf8))
                    exit(130)
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// A counter the signal handlers share.
final class SignalCount: Sendable {
    private let value = Mutex(0)

    func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}

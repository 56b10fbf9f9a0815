import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Waiting for Ctrl-C, SIGTERM or a deadline, for commands without a service group.
enum Termination {
    /// Returns on SIGINT or SIGTERM, or after `duration` when given.
    static func wait(for duration: Duration?) async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        let timer = Task {
            if let duration {
                try? await Task.sleep(for: duration)
                continuation.yield()
            }
        }
        for await _ in stream { break }
        timer.cancel()
        for source in sources { source.cancel() }
    }
}

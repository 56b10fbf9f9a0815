import Logging
import Synchronization

/// A log handler that keeps what it is given, to assert on log output in tests.
final class LogRecorder: LogHandler, Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let storage = Mutex<[Entry]>([])

    var entries: [Entry] { storage.withLock { $0 } }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}  // Per-logger metadata is not used by the code under test.
    }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).mapValues { "\($0)" }
        storage.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: metadata)) }
    }
}

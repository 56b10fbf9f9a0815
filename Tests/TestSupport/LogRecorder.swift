import Logging
import Synchronization

/// A log handler that keeps what it is given, to assert on log output in tests.
public final class LogRecorder: LogHandler, Sendable {
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]
    }

    private let storage = Mutex<[Entry]>([])

    public init() {}

    public var entries: [Entry] { storage.withLock { $0 } }

    public var metadata: Logger.Metadata {
        get { [:] }
        set {}  // Per-logger metadata is not used by the code under test.
    }

    public var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    public func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).mapValues { "\($0)" }
        storage.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: metadata)) }
    }
}

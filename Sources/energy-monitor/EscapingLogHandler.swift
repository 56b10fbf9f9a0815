import EnergyModel
import Logging

/// Every log line the command writes goes through this handler: the message and every
/// metadata value are escaped (`LogText.escaped`) before the wrapped handler prints them, so
/// that whatever a device, a pod, a node or a file puts into them (a `/shelly` model with a
/// line break and a fake error line after it) stays inside its one line.
struct EscapingLogHandler: LogHandler {
    private var inner: any LogHandler

    /// Wraps `inner`.
    init(_ inner: any LogHandler) {
        self.inner = inner
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = Self.escaped(newValue) }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.escaped) }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: LogText.escaped(event.message.description))
        var metadata = event.metadata.map(Self.escaped) ?? [:]
        if let error = event.error {
            metadata["error"] = metadata["error"] ?? .string(LogText.escaped("\(error)"))
            event.error = nil
        }
        if let provided = inner.metadataProvider?.get() {
            for (key, value) in provided where metadata[key] == nil { metadata[key] = Self.escaped(value) }
        }
        event.metadata = metadata.isEmpty ? nil : metadata
        inner.log(event: event)
    }

    private static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result: Logger.Metadata = [:]
        for (key, value) in metadata { result[LogText.escaped(key)] = escaped(value) }
        return result
    }

    private static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(LogText.escaped(text))
        case .stringConvertible(let convertible): .string(LogText.escaped(convertible.description))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(escaped(values))
        @unknown default: .string(LogText.escaped("\(value)"))
        }
    }
}

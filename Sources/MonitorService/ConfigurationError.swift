/// A configuration the service refuses, with the key path of the offending value.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Key path such as `plugs[2].address`; empty for the whole document.
    public var path: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ path: String, _ message: String) {
        self.path = Self.oneLine(path)
        self.message = Self.oneLine(message)
    }

    /// Messages quote the offending value, which may hold line breaks or be very long; the
    /// error stays one readable line.
    static func oneLine(_ text: String, limit: Int = 300) -> String {
        var line = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        if line.count > limit { line = String(line.prefix(limit)) + "…" }
        return line
    }

    /// `path: message`, one line.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

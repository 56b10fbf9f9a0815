/// A configuration the service refuses, with the key path of the offending value.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Key path such as `plugs[2].address`; empty for the whole document.
    public var path: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, one line.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A workflow file the runner refuses, with the key path of the offending value:
/// `thesis.yaml: phases[1].images.gpu: missing image`.
public struct WorkflowFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as given.
    public var file: String
    /// Key path such as `phases[2].command`; empty for the whole document.
    public var path: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(file: String, path: String, message: String) {
        self.file = file
        self.path = Self.oneLine(path)
        self.message = Self.oneLine(message)
    }

    /// Values quoted in messages may hold line breaks or be very long; the error stays one line.
    static func oneLine(_ text: String, limit: Int = 300) -> String {
        var line = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        if line.count > limit { line = String(line.prefix(limit)) + "…" }
        return line
    }

    /// `file: path: message`.
    public var description: String {
        path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)"
    }
}

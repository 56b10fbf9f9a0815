import EnergyModel

/// Why a file or document a user gave is refused, as one line naming where:
/// `config.yaml: plugs[2].address: missing`.
///
/// The one error type of every reader of user files (the service configuration, workflow
/// files, the knowledge base, kubeconfigs, secret files). File, key path and message are each
/// folded to one line, so a quoted value with line breaks or of megabytes cannot break a log
/// line or a terminal.
public struct KeyPathError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file the document came from, when the error is attributed to one.
    public var file: String?
    /// The key path of the offending value (`plugs[2].address`); empty for the whole document.
    public var keyPath: String
    /// What is wrong there (`missing`, `must be a number, not "lots"`).
    public var message: String

    /// Creates an error at `keyPath` (empty for the whole document).
    public init(_ keyPath: String, _ message: String) {
        self.init(file: nil, keyPath: keyPath, message: message)
    }

    /// Creates an error at `keyPath` of `file`.
    public init(file: String? = nil, keyPath: String, message: String) {
        self.file = file?.foldedToOneLine()
        self.keyPath = keyPath.foldedToOneLine()
        self.message = message.foldedToOneLine()
    }

    /// `file: keyPath: message`, leaving out the parts that are absent.
    public var description: String {
        [file, keyPath.isEmpty ? nil : keyPath, message].compactMap { $0 }.joined(separator: ": ")
    }

    /// The same error attributed to `file`.
    public func located(in file: String) -> KeyPathError {
        KeyPathError(file: file, keyPath: keyPath, message: message)
    }
}

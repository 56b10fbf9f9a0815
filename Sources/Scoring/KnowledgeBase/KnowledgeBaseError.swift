/// Why a knowledge base could not be loaded or a profile not be found, as one line naming the
/// place of the problem: `training[2].performanceRate: negative (-1.0)`.
public struct KnowledgeBaseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file the knowledge base came from, when it came from a file.
    public var file: String?
    /// The key path inside the document (`training[2].performanceRate`), empty for the whole document.
    public var keyPath: String
    /// What is wrong there, without the location (`negative (-1.0)`).
    public var problem: String

    /// Creates an error for `keyPath` (empty for the document itself) in an optional `file`.
    public init(file: String? = nil, keyPath: String, problem: String) {
        self.file = file
        self.keyPath = keyPath
        self.problem = problem
    }

    /// `file: keyPath: problem`, leaving out the parts that are absent.
    public var description: String {
        [file, keyPath.isEmpty ? nil : keyPath, problem].compactMap { $0 }.joined(separator: ": ")
    }

    /// The same error attributed to `file`.
    func located(in file: String) -> KnowledgeBaseError {
        var copy = self
        copy.file = file
        return copy
    }
}

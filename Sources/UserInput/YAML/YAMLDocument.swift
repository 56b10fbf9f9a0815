/// Reads YAML documents for ``YAMLValue``: one document per text, keys that are single values
/// and given once, alias expansion within ``YAMLLimits``, syntax errors as one line with their
/// position (`not valid YAML (line 3, column 4: did not find expected '-' indicator, while
/// parsing a block collection at line 2, column 3)`).
public enum YAMLDocument {
    /// The document's root; nil when the text holds none (empty, or only comments).
    public static func parse(_ text: String, limits: YAMLLimits = .standard) throws(KeyPathError) -> YAMLValue? {
        try YAMLComposer.compose(text, limits: limits).map { YAMLValue($0, keyPath: "") }
    }

    /// Reads and parses the file at `path` through ``UserFile`` (regular files only, at most
    /// `maxBytes`); every error names the file.
    public static func read(
        path: String, maxBytes: Int = UserFile.defaultMaxBytes, limits: YAMLLimits = .standard
    ) throws(KeyPathError) -> YAMLValue? {
        let text: String
        do {
            text = try UserFile(path: path, maxBytes: maxBytes).text()
        } catch {
            throw error.keyPathError
        }
        do {
            return try parse(text, limits: limits)
        } catch {
            throw error.located(in: path)
        }
    }
}

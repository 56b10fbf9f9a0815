extension String {
    /// The text as one readable line of at most `limit` characters (then `…`): every control
    /// character (line breaks, tabs, NUL, escape sequences) becomes a space.
    ///
    /// Error messages quote what users and devices wrote (a YAML value, an RPC error text, a
    /// JSON parser's report), which may hold line breaks or be megabytes long; a message is one
    /// line in a terminal or a log whatever was quoted. The one rule for every such message.
    public func foldedToOneLine(limit: Int = 300) -> String {
        var line = ""
        var count = 0
        for scalar in unicodeScalars {
            guard count < limit else { return line + "…" }
            line.unicodeScalars.append(scalar.properties.generalCategory == .control ? " " : scalar)
            count += 1
        }
        return line
    }
}

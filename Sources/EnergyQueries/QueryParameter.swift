/// A parameter of the energy and power queries. Each interface spells it its own way (`from`
/// in a URL query, `--from` on the command line); the reason a value is refused reads the same
/// in both.
public enum QueryParameter: String, Sendable, CaseIterable {
    /// The nodes asked for, comma-separated.
    case node
    /// The window's start.
    case from
    /// The window's end (exclusive).
    case to
    /// The width of one point of a power series.
    case step

    /// How an interface names its parameters.
    public enum Spelling: Sendable {
        /// As in a URL query: `from`.
        case query
        /// As a command-line option: `--from`.
        case option
    }

    /// The parameter's name as `spelling` writes it.
    public func name(_ spelling: Spelling) -> String {
        switch spelling {
        case .query: rawValue
        case .option: "--" + rawValue
        }
    }
}

/// One node of a YAML document as composed from the parser's events: a scalar, a list or a
/// mapping with plain keys, aliases already resolved (they share storage with their anchor).
public struct YAMLNode: Sendable {
    /// What the node holds.
    public enum Content: Sendable {
        /// A single value, as written.
        case scalar(YAMLScalar)
        /// A list.
        case sequence([YAMLNode])
        /// A mapping in document order. Keys are single values, each at most once.
        case mapping([YAMLEntry])
    }

    /// What the node holds.
    public let content: Content
    /// Where the node starts.
    public let mark: YAMLMark

    /// Creates a node.
    public init(_ content: Content, mark: YAMLMark) {
        self.content = content
        self.mark = mark
    }
}

/// A position in a YAML document, both numbers counted from 1 as editors show them.
public struct YAMLMark: Sendable, Hashable, CustomStringConvertible {
    /// The line.
    public let line: Int
    /// The column.
    public let column: Int

    /// Creates a mark.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line 3, column 4`.
    public var description: String { "line \(line), column \(column)" }
}

/// A single value as written, with the style and tag it was written in.
public struct YAMLScalar: Sendable, Hashable {
    /// How a scalar was written.
    public enum Style: Sendable, Hashable {
        /// Without quotes: subject to YAML's implicit typing (`true`, `12`, `~`).
        case plain
        /// In single or double quotes.
        case quoted
        /// A block (`|` or `>`).
        case block
    }

    /// The text, unescaped.
    public let text: String
    /// How it was written.
    public let style: Style
    /// An explicit tag (`!!str`, `tag:yaml.org,2002:int`), nil when none was written.
    public let tag: String?

    /// Creates a scalar.
    public init(_ text: String, style: Style = .plain, tag: String? = nil) {
        self.text = text
        self.style = style
        self.tag = tag
    }

    /// Whether YAML reads the scalar as null: a plain `~`, `null` (any case) or nothing at all.
    public var isNull: Bool {
        style == .plain && tag == nil && ["", "~", "null", "Null", "NULL"].contains(text)
    }
}

/// One key and its value in a mapping.
public struct YAMLEntry: Sendable {
    /// The key's text.
    public let key: String
    /// Where the key is written.
    public let keyMark: YAMLMark
    /// The value.
    public let value: YAMLNode

    /// Creates an entry.
    public init(key: String, keyMark: YAMLMark, value: YAMLNode) {
        self.key = key
        self.keyMark = keyMark
        self.value = value
    }
}

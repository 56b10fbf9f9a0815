/// A YAML document to write, rendered in block style with every string quoted where YAML
/// would read it otherwise.
///
/// Filling values into a YAML template goes wrong exactly where users' values are unusual:
/// `database: /tmp/a #b.db` is the path `/tmp/a` and a comment, `listen: [::1]:9840` is a
/// list. Here a string is written plain only when it is made of letters, digits and `_-./@+`
/// and YAML would read it back as that same string (not `true`, `~` or `12`); anything else is
/// double-quoted with escapes, so ``YAMLDocument`` reads back exactly the text given.
public indirect enum YAMLOutput: Sendable {
    /// A string, quoted when needed.
    case string(String)
    /// A number, boolean or duration (`1.5`, `true`, `15s`): written without quotes when it
    /// has none of YAML's special characters, since it is meant to be read as what it looks like.
    case token(String)
    /// A list.
    case list([YAMLOutput])
    /// A mapping in the order given; keys are written like strings.
    case mapping([(key: String, value: YAMLOutput)])

    /// The document as text, each line of `header` as a comment above it.
    public func text(header: String? = nil) -> String {
        var lines = header.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" } } ?? []
        lines += render(indent: 0)
        return lines.joined(separator: "\n") + "\n"
    }

    private func render(indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .string(let text):
            return [pad + Self.scalar(text)]
        case .token(let text):
            return [pad + Self.token(text)]
        case .list(let items):
            guard !items.isEmpty else { return [pad + "[]"] }
            var lines: [String] = []
            for item in items {
                // The item one level in, its first line moved onto the dash.
                var itemLines = item.render(indent: indent + 2)
                itemLines[0] = pad + "- " + itemLines[0].dropFirst(indent + 2)
                lines += itemLines
            }
            return lines
        case .mapping(let entries):
            guard !entries.isEmpty else { return [pad + "{}"] }
            var lines: [String] = []
            for (key, value) in entries {
                let name = pad + Self.scalar(key) + ":"
                switch value {
                case .string(let text):
                    lines.append(name + " " + Self.scalar(text))
                case .token(let text):
                    lines.append(name + " " + Self.token(text))
                case .list(let items) where items.isEmpty:
                    lines.append(name + " []")
                case .mapping(let inner) where inner.isEmpty:
                    lines.append(name + " {}")
                case .list, .mapping:
                    lines.append(name)
                    lines += value.render(indent: indent + 2)
                }
            }
            return lines
        }
    }

    /// `text` as a YAML scalar: plain when that reads back as the same string, else quoted.
    public static func scalar(_ text: String) -> String {
        isPlainSafe(text) ? text : quoted(text)
    }

    /// `text` as a YAML token: plain when it has no special characters, else quoted.
    static func token(_ text: String) -> String {
        hasOnlySafeCharacters(text) ? text : quoted(text)
    }

    /// Whether `text` can be written without quotes and read back as the same string.
    static func isPlainSafe(_ text: String) -> Bool {
        hasOnlySafeCharacters(text) && YAMLScalar(text).typed == .string(text)
    }

    /// Letters, digits and `_-./@+`, starting with a letter, a digit, `/` or `_`: nothing YAML
    /// reads as syntax (`#`, `:`, `[`, `*`, quotes, a leading `-` or `.`).
    private static func hasOnlySafeCharacters(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII,
            first.properties.isAlphabetic || "0123456789/_".unicodeScalars.contains(first)
        else { return false }
        return text.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || "0123456789_-./@+".unicodeScalars.contains($0))
        }
    }

    /// `text` double-quoted, with `"`, `\` and everything YAML does not print as itself
    /// (control characters, line and paragraph separators, a byte-order mark) escaped.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case " "..."~", "\u{A0}"..."\u{2027}", "\u{202A}"..."\u{D7FF}", "\u{E000}"..."\u{FEFE}",
                "\u{FF00}"..."\u{FFFD}",
                "\u{10000}"..."\u{10FFFF}":
                result.unicodeScalars.append(scalar)
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result +=
                    scalar.value <= 0xFFFF
                    ? "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    : "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
            }
        }
        return result + "\""
    }
}

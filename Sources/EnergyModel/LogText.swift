/// Text from outside (a device's model, a pod's annotation, a node's name, a file's content)
/// made safe for a log line: a line break or any other control character in it is written as
/// an escape (`\n`, `\r`, `\t`, `\u{1B}`), and a backslash as `\\`, so no input can end a
/// log line early, start a forged one, or move the terminal's cursor.
public enum LogText {
    /// `text` with every control character (C0, DEL, C1, and the Unicode line and paragraph
    /// separators) escaped; unchanged when it has none.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default:
                if isControl(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\\" || isControl(scalar)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}

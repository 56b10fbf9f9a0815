import Foundation
import TestSupport
import Testing

/// A floating-point value converted to an integer with a plain `Int64(x)` traps when `x` is
/// NaN, infinite or out of range, and one trap ends polling for every node. Every such
/// conversion in `Sources/` goes through `init(rounding:)`, `init(clampingRounding:)`
/// (EnergyModel's CheckedConversion.swift) or `init(exactly:)`; this check fails when a plain
/// one comes back.
///
/// It reads the sources as text: a plain conversion (`Int(`, `Int64(`, `UInt8(`, ... without a
/// label) is refused when its argument mentions a floating-point marker (`Double(`,
/// `.rounded`, a decimal or exponent literal, `timeIntervalSince`) or a name the package
/// declares with a floating-point type anywhere (`seconds: Double`, `func rate() -> Double`).
/// Names are not scoped, so an integer that shares a name with a floating-point value
/// elsewhere is refused too: write such conversions with a label (`clamping:`,
/// `truncatingIfNeeded:`), which says what happens out of range.
@Suite("Checked conversions")
struct ConversionCheckTests {
    static let sources = TestPaths.packageRoot.appendingPathComponent("Sources")
    static let floatingType = #"(?:Double|Float|Float32|Float64|TimeInterval|CGFloat)"#
    static let labels = [
        "exactly", "clamping", "truncatingIfNeeded", "bitPattern", "ascii", "rounding", "clampingRounding", "bigEndian",
    ]

    /// Every Swift file under Sources/ but the helper itself, without whole-line comments.
    static func files() throws -> [(path: String, lines: [String])] {
        let enumerator = FileManager.default.enumerator(atPath: sources.path)
        var files: [(String, [String])] = []
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".swift"), !relative.hasSuffix("CheckedConversion.swift") else { continue }
            let text = try String(contentsOf: sources.appendingPathComponent(relative), encoding: .utf8)
            let lines = text.components(separatedBy: "\n").map { line in
                line.trimmingCharacters(in: .whitespaces).hasPrefix("//") ? "" : line
            }
            files.append(("Sources/" + relative, lines))
        }
        return files
    }

    static func matches(_ pattern: String, in text: String) throws -> [[String]] {
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).map { match in
            (0..<match.numberOfRanges).map { index in
                Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
            }
        }
    }

    /// Names declared with a floating-point type, and functions returning one.
    static func floatingNames(_ files: [(path: String, lines: [String])]) throws -> (
        names: Set<String>, functions: Set<String>
    ) {
        var names: Set<String> = []
        var functions: Set<String> = []
        for file in files {
            for line in file.lines {
                for match in try matches(#"\b(\w+)\s*:\s*"# + floatingType + #"\b"#, in: line) {
                    names.insert(match[1])
                }
                for match in try matches(#"func\s+(\w+)[^{]*->\s*\(?"# + floatingType + #"\b"#, in: line) {
                    functions.insert(match[1])
                }
            }
        }
        return (names, functions)
    }

    /// The argument text of the call whose opening parenthesis ends at `start`.
    static func argument(of line: String, from start: String.Index) -> String {
        var depth = 1
        var index = start
        while index < line.endIndex {
            if line[index] == "(" { depth += 1 }
            if line[index] == ")" {
                depth -= 1
                if depth == 0 { break }
            }
            index = line.index(after: index)
        }
        return String(line[start..<index])
    }

    static func isFloating(_ argument: String, names: Set<String>, functions: Set<String>) throws -> Bool {
        let markers =
            #"\b(?:Double|Float|Float32|Float64|TimeInterval)\s*\(|\.rounded\b|\b\d+\.\d+\b|\b\d+e[+-]?\d+\b|timeIntervalSince"#
        if try !matches(markers, in: argument).isEmpty { return true }
        for word in try matches(#"\b[A-Za-z_]\w*\b"#, in: argument) where names.contains(word[0]) { return true }
        for call in try matches(#"\b([A-Za-z_]\w*)\s*\("#, in: argument) where functions.contains(call[1]) {
            return true
        }
        return false
    }

    /// The plain conversions of floating-point values in the sources, as `file:line: text`.
    static func violations() throws -> [String] {
        let files = try files()
        let (names, functions) = try floatingNames(files)
        let conversion = try NSRegularExpression(pattern: #"\b(U?Int(?:8|16|32|64)?)\("#)
        var found: [String] = []
        for file in files {
            for (number, line) in file.lines.enumerated() {
                for match in conversion.matches(in: line, range: NSRange(line.startIndex..., in: line)) {
                    guard let end = Range(match.range, in: line)?.upperBound else { continue }
                    let argument = argument(of: line, from: end)
                    let label = argument.trimmingCharacters(in: .whitespaces).prefix { $0.isLetter }
                    if labels.contains(String(label)),
                        argument.trimmingCharacters(in: .whitespaces).dropFirst(label.count).first == ":"
                    {
                        continue
                    }
                    if try isFloating(argument, names: names, functions: functions) {
                        found.append("\(file.path):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                    }
                }
            }
        }
        return found
    }

    @Test("no plain conversion of a floating-point value to an integer in Sources/")
    func noPlainConversions() async throws {
        let found = try await onOwnThread { try Self.violations() }
        #expect(
            found.isEmpty,
            "use init(rounding:), init(clampingRounding:) or init(exactly:):\n\(found.joined(separator: "\n"))")
    }

    @Test("the check sees the conversions it must refuse and passes the ones it must not")
    func checkBites() throws {
        let names: Set<String> = ["seconds", "watts"]
        let functions: Set<String> = ["rate"]
        for refused in [
            "seconds * 1000", "x.rounded()", "Double(count) / 2", "0.5 * n", "1e3", "rate()", "sample.watts",
            "date.timeIntervalSince1970",
        ] {
            #expect(try Self.isFloating(refused, names: names, functions: functions), "\(refused)")
        }
        for passed in ["count", "index + 1", "data[offset] & 0x3F", "text", "token >> 32"] {
            #expect(try !Self.isFloating(passed, names: names, functions: functions), "\(passed)")
        }
    }
}

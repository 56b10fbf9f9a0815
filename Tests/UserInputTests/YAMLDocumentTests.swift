import TestSupport
import Testing
import UserInput

@Suite("YAML documents")
struct YAMLDocumentTests {
    static func parse(_ text: String) throws(KeyPathError) -> YAMLValue? {
        try YAMLDocument.parse(text)
    }

    @Test("nodes keep their text, style, key paths and positions")
    func composes() throws {
        let root = try #require(try Self.parse("a: 1\nb:\n  - x\n  - 'y z'\n  - {c: ~}\n"))
        let entries = try root.entries()
        #expect(entries.map(\.key) == ["a", "b"])
        let list = try #require(root.member("b")).list()
        #expect(list.map(\.keyPath) == ["b[0]", "b[1]", "b[2]"])
        #expect(list[1].scalar == YAMLScalar("y z", style: .quoted))
        #expect(try #require(list[2].member("c")).isNull)
        #expect(try #require(list[2].member("c")).keyPath == "b[2].c")
        #expect(list[0].node.mark == YAMLMark(line: 3, column: 5))
        #expect(try Self.parse("") == nil)
        #expect(try Self.parse("# only a comment\n") == nil)
    }

    @Test("aliases of small parts resolve to their anchor's value")
    func smallAliases() throws {
        let root = try #require(try Self.parse("base: &b {image: x, cpu: 2}\nuse: *b\nlist: [*b, *b]\n"))
        let use = try #require(root.member("use"))
        #expect(try use.entries().map(\.key) == ["image", "cpu"])
        #expect(use.keyPath == "use")
        #expect(try #require(root.member("list")).list().count == 2)
    }

    @Test(
        "syntax errors, second documents, keys given twice and keys that are not strings: one line with the place",
        arguments: [
            (
                "training:\n  - nodeName: a\n   bad: [", "",
                "not valid YAML (line 3, column 4: did not find expected '-' indicator, while parsing a block collection at line 2, column 3)"
            ),
            (
                "a: 1\n---\nb: 2\n", "",
                "not valid YAML (a second document starts at line 2, column 1; give one per file)"
            ),
            ("a: 1\nb: {c: 1, c: 2}\n", "b.c", "given twice (line 2, column 11)"),
            ("a: 1\na: 2\n", "a", "given twice (line 2, column 1)"),
            ("plugs:\n  - ? [x]\n    : 1\n", "plugs[0]", "keys must be plain strings (line 2, column 7)"),
            ("a: *nothing\n", "a", "alias *nothing names no anchor before it (line 1, column 4)"),
        ] as [(String, String, String)]
    )
    func refused(text: String, keyPath: String, message: String) {
        let error = #expect(throws: KeyPathError.self) { try Self.parse(text) }
        #expect(error?.keyPath == keyPath, "\(String(describing: error))")
        #expect(error?.message == message)
        #expect(error?.description.contains("\n") == false)
    }

    @Test("nesting deeper than the limit is refused, written out or through aliases")
    func depth() throws {
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        let error = try #require(throws: KeyPathError.self) { try Self.parse("a: " + deep) }
        #expect(error.message.hasPrefix("nested deeper than 64 levels"))
        var chain = "l0: &l0 [x]\n"
        for level in 1...40 { chain += "l\(level): &l\(level) [*l\(level - 1)]\n" }
        chain += "both: [*l40, *l40]\n"
        #expect(try Self.parse(chain) != nil)
        let deeper = chain.replacingOccurrences(
            of: "both: [*l40, *l40]", with: "both: [[[[[[[[[[[[[[[[[[[[[[[[*l40]]]]]]]]]]]]]]]]]]]]]]]]")
        let aliasError = try #require(throws: KeyPathError.self) { try Self.parse(deeper) }
        #expect(aliasError.message.hasPrefix("alias *l40 nests the document deeper than 64 levels"), "\(aliasError)")
    }

    @Test(
        "alias bombs are refused while composing, as keys and as values, with one line naming the problem",
        .timeLimit(.minutes(1)),
        arguments: [7, 9]
    )
    func aliasBombs(depth: Int) throws {
        for text in [
            AliasBomb.asKey(depth: depth), AliasBomb.asValue(depth: depth),
            "list: [" + AliasBomb.alias(depth: depth) + "]\n",
        ] {
            let document = text.hasPrefix("list") ? AliasBomb.anchors(depth: depth) + text : text
            let error = try #require(throws: KeyPathError.self) { try Self.parse(document) }
            #expect(error.message.contains("aliases repeat more than 10000 nodes"), "\(error)")
            #expect(error.message.contains("refused as an alias bomb"))
            #expect(error.keyPath.hasPrefix("x"), "the bomb is found where its anchors grow: \(error)")
            #expect(!error.description.contains("\n"))
        }
        // The same shape, small: four-way aliases four deep are 341 nodes and compose.
        let small = try #require(try Self.parse(AliasBomb.asValue(fanOut: 4, depth: 4)))
        let expanded = try #require(small.member("bomb")).list()
        #expect(expanded.count == 4)
    }

    @Test("a large document may repeat as many nodes through aliases as it writes out")
    func largeDocuments() throws {
        let items = (0..<12_000).map { "  - {n: \($0)}" }.joined(separator: "\n")
        let text =
            "part: &p [a, b, c]\nitems:\n\(items)\nrepeats: ["
            + Array(repeating: "*p", count: 4_000).joined(separator: ", ") + "]\n"
        #expect(try Self.parse(text) != nil)
    }

    @Test("scalars are typed as YAML types plain values, and only plain values")
    func typedScalars() {
        #expect(YAMLScalar("true").typed == .bool(true))
        #expect(YAMLScalar("no").typed == .bool(false))
        #expect(YAMLScalar("420").typed == .integer(420))
        #expect(YAMLScalar("1.5").typed == .double(1.5))
        #expect(YAMLScalar("~").typed == .null)
        #expect(YAMLScalar("").typed == .null)
        #expect(YAMLScalar("true", style: .quoted).typed == .string("true"))
        #expect(YAMLScalar("12", tag: "tag:yaml.org,2002:str").typed == .string("12"))
        #expect(YAMLScalar("a b").typed == .string("a b"))
        #expect(YAMLScalar(".inf").typed == .string(".inf"))
    }
}

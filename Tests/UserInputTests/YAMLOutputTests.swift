import TestSupport
import Testing
import UserInput

@Suite("Writing YAML")
struct YAMLOutputTests {
    /// Strings a template would get wrong: comments, flow indicators, quotes, line breaks,
    /// YAML's other types, leading spaces and dashes, control characters, non-ASCII text.
    static let awkward = [
        "/tmp/a #b.db", "[::1]:9840", "/path with spaces/pw", "a: b", "'single'", "\"double\"", "back\\slash",
        "line\nbreak", "tab\there", "true", "no", "~", "null", "", " leading", "trailing ", "- dash", "-1", "12", "1e3",
        "0x10", ".inf", "*alias", "&anchor", "!tag", "%directive", "@at", "`tick`", "{a: 1}", "[x]", "?", "|", ">",
        "é ü 日本 🙂", "\u{0}\u{7}\u{1B}[31m", "\u{85}\u{2028}\u{2029}\u{FEFF}", "# comment", "key:", "a,b", "x\r\ny",
    ]

    @Test("every string reads back exactly, as a value and as a key", arguments: awkward)
    func roundTrip(text: String) throws {
        let document = YAMLOutput.mapping([
            ("value", .string(text)), ("list", .list([.string(text), .mapping([("k", .string(text))])])),
            (text, .string("x")),
        ]).text(header: "a header\nover two lines")
        let root = try #require(try YAMLDocument.parse(document), "\(document)")
        #expect(try #require(root.member("value")).rawString() == text, "\(document)")
        let list = try #require(root.member("list")).list()
        #expect(try list[0].rawString() == text)
        #expect(try #require(list[1].member("k")).rawString() == text)
        #expect(try root.entries().map(\.key) == ["value", "list", text])
    }

    @Test("plain where that reads the same, quoted otherwise")
    func quoting() {
        #expect(YAMLOutput.scalar("tvpc") == "tvpc")
        #expect(YAMLOutput.scalar("/var/lib/energy.db") == "/var/lib/energy.db")
        #expect(YAMLOutput.scalar("/tmp/a #b.db") == "\"/tmp/a #b.db\"")
        #expect(YAMLOutput.scalar("true") == "\"true\"")
        #expect(YAMLOutput.scalar("12") == "\"12\"")
        #expect(YAMLOutput.scalar("[::1]:9840") == "\"[::1]:9840\"")
        #expect(YAMLOutput.scalar("a\u{1B}b") == "\"a\\u001Bb\"")
        #expect(
            YAMLOutput.mapping([
                ("a", .token("1s")), ("b", .list([])), ("c", .mapping([])), ("d", .list([.list([.token("x")])])),
            ])
            .text() == "a: 1s\nb: []\nc: {}\nd:\n  - - x\n")
    }

    @Test("random strings read back exactly")
    func randomStrings() throws {
        var generator = SeededGenerator(seed: 0x59_414D_4C)
        let pieces = Array(
            " \t\n\r:#-?[]{},&*!|>'\"%@`\\~.0123456789abcXYZé日🙂\u{0}\u{1}\u{7F}\u{85}\u{A0}\u{2028}\u{FEFF}"
        ).map(String.init)
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            let document = YAMLOutput.mapping([("v", .string(text))]).text()
            let root = try #require(try YAMLDocument.parse(document), "\(document.debugDescription)")
            #expect(try #require(root.member("v")).rawString() == text, "\(document.debugDescription)")
        }
    }
}

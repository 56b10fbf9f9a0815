import EnergyModel
import Testing
import UserInput

@Suite("Reading YAML values")
struct YAMLValueTests {
    /// The value of `key` in a one-line document.
    static func value(_ text: String, _ key: String = "v") throws -> YAMLValue {
        let root = try #require(try YAMLDocument.parse("\(key): \(text)"))
        return try #require(root.member(key))
    }

    /// The error of reading `text` with `read`, as `keyPath: message`.
    static func refusal(_ text: String, _ read: (YAMLValue) throws -> Void) throws -> String {
        let value = try Self.value(text)
        do {
            try read(value)
        } catch let error as KeyPathError {
            #expect(!error.description.contains("\n"))
            return error.description
        }
        Issue.record("accepted: \(text)")
        return ""
    }

    @Test("unknown keys are refused with the known ones listed; required keys say missing")
    func fields() throws {
        let root = try #require(try YAMLDocument.parse("plugs:\n  - {node: a, adress: h}\n"))
        let plug = try #require(root.member("plugs")).list()[0]
        #expect(throws: KeyPathError("plugs[0].adress", "unknown key (known: node, address)")) {
            _ = try plug.fields(known: ["node", "address"])
        }
        let fields = try plug.fields(known: ["node", "adress", "address"])
        #expect(throws: KeyPathError("plugs[0].address", "missing (host or host:port)")) {
            _ = try fields.required("address", "host or host:port")
        }
        #expect(try fields.required("node").string() == "a")
        #expect(throws: KeyPathError("plugs", "must be a mapping, not a list")) {
            _ = try #require(root.member("plugs")).entries()
        }
    }

    @Test("strings, booleans, numbers, integers")
    func scalars() throws {
        #expect(try Self.value("'  padded  '").string() == "padded")
        #expect(try Self.value("'  padded  '").rawString() == "  padded  ")
        #expect(try Self.refusal("''") { _ = try $0.string() } == "v: must not be empty")
        #expect(try Self.refusal("[a]") { _ = try $0.string() } == "v: must be a single value, not a list")
        for (text, expected) in [("yes", true), ("On", true), ("TRUE", true), ("off", false), ("No", false)] {
            #expect(try Self.value(text).bool() == expected)
        }
        #expect(try Self.refusal("maybe") { _ = try $0.bool() } == "v: must be true or false, not \"maybe\"")
        #expect(try Self.value("-1.5e3").number() == -1500)
        #expect(try Self.value("'2'").number() == 2)
        #expect(try Self.refusal("0x10") { _ = try $0.number() } == "v: must be a number, not \"0x10\"")
        #expect(try Self.refusal(".nan") { _ = try $0.number() } == "v: must be a number, not \".nan\"")
        #expect(try Self.refusal("1e999") { _ = try $0.number() } == "v: must be a finite number, not \"1e999\"")
        #expect(try Self.refusal("7") { _ = try $0.number(in: 0...5) } == "v: must be a number in 0.0...5.0, not \"7\"")
        #expect(try Self.value("15").integer(in: 0...15) == 15)
        #expect(try Self.value("-3").integer(in: -5...5) == -3)
        #expect(
            try Self.refusal("-1") { _ = try $0.integer(in: 0...15) } == "v: must be an integer in 0...15, not \"-1\"")
        #expect(
            try Self.refusal("1.0") { _ = try $0.integer(in: 0...15) } == "v: must be an integer in 0...15, not \"1.0\""
        )
        #expect(
            try Self.refusal("+1") { _ = try $0.integer(in: 0...15) } == "v: must be an integer in 0...15, not \"+1\"")
    }

    @Test("durations and sizes")
    func durationsAndSizes() throws {
        #expect(try Self.value("1m30s").duration() == 90_000)
        #expect(try Self.refusal("5") { _ = try $0.duration() }.hasPrefix("v: not a duration: \"5\""))
        #expect(try Self.refusal("0s") { _ = try $0.duration() } == "v: must be longer than 0")
        #expect(try Self.refusal("10ms") { _ = try $0.duration(atLeast: 1000) } == "v: must be at least 1s")
        #expect(
            try Self.refusal("2h") { _ = try $0.duration(atLeast: 100, atMost: 3_600_000) }
                == "v: must be between 100ms and 1h")
        #expect(try Self.value("64MiB").byteSize(in: 1...(1 << 30)) == 64 << 20)
        #expect(try Self.value("512 KiB").byteSize(in: 1...(1 << 30)) == 512 << 10)
        #expect(try Self.value("100MB").byteSize(in: 1...(1 << 30)) == 100_000_000)
        #expect(
            try Self.refusal("64") { _ = try $0.byteSize(in: 1...(1 << 30)) }
                == "v: must be a whole number of bytes with a unit, e.g. 64MiB (units B, KiB, MiB, GiB, KB, MB, GB), not \"64\""
        )
        #expect(
            try Self.refusal("2GiB") { _ = try $0.byteSize(in: 1024...(1 << 30)) }
                == "v: must be between 1KiB and 1GiB, not \"2GiB\"")
        #expect(
            try Self.refusal("99999999999999999999GiB") { _ = try $0.byteSize(in: 1...(1 << 30)) }.contains("too large")
        )
    }

    @Test("lists and listen addresses")
    func listsAndAddresses() throws {
        #expect(try Self.value("[a, b]").stringList() == ["a", "b"])
        #expect(try Self.refusal("a") { _ = try $0.list() } == "v: must be a list, not \"a\"")
        #expect(try Self.refusal("[a, '']") { _ = try $0.stringList() } == "v[1]: must not be empty")
        #expect(try Self.value("'[::1]:9840'").listenAddress() == ListenAddress(host: "::1", port: 9840))
        #expect(
            try Self.refusal("'127.0.0.1:0'") { _ = try $0.listenAddress() }
                == "v: port must be 1...65535 in \"127.0.0.1:0\"")
        #expect(try Self.value("'127.0.0.1:0'").listenAddress(allowingPortZero: true).port == 0)
    }

    @Test("errors fold control characters and overlong quotes into one line")
    func oneLine() throws {
        let value = try Self.value("\"line one\\nline two\\u001b[31m\\ttab\"")
        let error = try #require(throws: KeyPathError.self) { _ = try value.bool() }
        #expect(error.description == "v: must be true or false, not \"line one line two [31m tab\"")
        let long = try Self.value(String(repeating: "x", count: 5000))
        let longError = try #require(throws: KeyPathError.self) { _ = try long.bool() }
        #expect(longError.message.count == 301 && longError.message.hasSuffix("…"))
        #expect(KeyPathError(file: "a\nb.yaml", keyPath: "k\r", message: "m").description == "a b.yaml: k : m")
        #expect("é\u{0}\u{7F}\u{85}x".foldedToOneLine() == "é   x")
    }
}

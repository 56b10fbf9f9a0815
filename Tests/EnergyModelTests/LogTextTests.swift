import EnergyModel
import Testing

@Suite("Log text")
struct LogTextTests {
    @Test("control characters, line and paragraph separators and backslashes are escaped; plain text is unchanged")
    func escaping() {
        #expect(LogText.escaped("tvpc SNPL-00112EU 1.0") == "tvpc SNPL-00112EU 1.0")
        #expect(LogText.escaped("a\nb\rc\td") == "a\\nb\\rc\\td")
        #expect(LogText.escaped("x\u{1B}[2Ky") == "x\\u{1B}[2Ky")
        #expect(LogText.escaped("\u{85}\u{2028}\u{2029}\u{7F}\u{0}") == "\\u{85}\\u{2028}\\u{2029}\\u{7F}\\u{0}")
        #expect(LogText.escaped("C:\\path\\n") == "C:\\\\path\\\\n")
        #expect(LogText.escaped("Zürich ⚡") == "Zürich ⚡")
        #expect(!LogText.escaped(String(repeating: "\n", count: 1000)).contains("\n"))
    }
}

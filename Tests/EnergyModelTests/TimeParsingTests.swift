import EnergyModel
import Testing

@Suite("Times")
struct TimeParsingTests {
    static let now: Int64 = 1_769_030_701_000

    @Test(
        "RFC 3339 (UTC without a zone), unix seconds, now and offsets",
        arguments: [
            ("2026-01-21T21:25:01Z", 1_769_030_701_000), ("2026-01-21T21:25:01.250Z", 1_769_030_701_250),
            ("2026-01-21T23:25:01+02:00", 1_769_030_701_000), ("2026-01-21T21:25:01", 1_769_030_701_000),
            ("2026-01-21 21:25:01", 1_769_030_701_000), ("1769030701", 1_769_030_701_000),
            ("1769030701.5", 1_769_030_701_500), ("now", now), ("now-1h", now - 3_600_000), ("now+90s", now + 90_000),
        ] as [(String, Int64)]
    )
    func accepted(text: String, milliseconds: Int64) throws {
        #expect(try TimeParsing.milliseconds(text, nowMilliseconds: Self.now) == milliseconds)
    }

    @Test("anything else is refused with the text", arguments: ["", "yesterday", "now-", "now-5", "2026-13-01T00:00:00Z", "-5"])
    func refused(text: String) {
        let failure = #expect(throws: TimeParsing.Failure.self) { try TimeParsing.milliseconds(text, nowMilliseconds: Self.now) }
        #expect(failure?.description.hasPrefix("not a time: \"\(text)\"") == true)
    }
}

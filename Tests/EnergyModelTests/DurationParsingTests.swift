import Testing

@testable import EnergyModel

@Suite("Durations")
struct DurationParsingTests {
    @Test(
        "units and sums as the configuration writes them",
        arguments: [
            ("500ms", 500), ("1s", 1000), ("15s", 15_000), ("5m", 300_000), ("2h", 7_200_000), ("14d", 1_209_600_000),
            ("1w", 604_800_000), ("1m30s", 90_000), (" 2s ", 2000), ("1.5s", 1500), ("0s", 0),
        ] as [(String, Int64)]
    )
    func accepted(text: String, milliseconds: Int64) throws {
        #expect(try DurationParsing.milliseconds(text) == milliseconds)
    }

    @Test("a bare number, an unknown unit or junk is refused with the text", arguments: ["", "15", "3x", "s", "-1s", "1s-", "1..5s", "1 s"])
    func refused(text: String) {
        #expect(throws: DurationParsing.Failure(text: text)) { try DurationParsing.milliseconds(text) }
    }

    @Test("the message names the text and shows the accepted forms")
    func message() {
        #expect(DurationParsing.Failure(text: "15").description == "not a duration: \"15\" (use e.g. 500ms, 1s, 15s, 5m, 2h, 14d)")
    }
}

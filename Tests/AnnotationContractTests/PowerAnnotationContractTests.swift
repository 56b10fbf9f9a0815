import AnnotationContract
import Testing

@Suite("Power annotation contract")
struct PowerAnnotationContractTests {
    let contract = PowerAnnotationContract()

    @Test("the keys the thesis plugin reads, under the default or a configured prefix")
    func keys() {
        #expect(PowerAnnotationContract.defaultPrefix == "energy.thesis.io")
        #expect(contract.wattsKey == "energy.thesis.io/current-watts")
        #expect(contract.lastUpdatedKey == "energy.thesis.io/last-updated")
        #expect(PowerAnnotationContract(prefix: "power.example.org").wattsKey == "power.example.org/current-watts")
    }

    @Test("watts with two decimals, the time in whole seconds rounded down")
    func format() {
        #expect(
            contract.annotations(watts: 12.345, timestampMilliseconds: 1_769_947_171_999)
                == ["energy.thesis.io/current-watts": "12.35", "energy.thesis.io/last-updated": "1769947171"])
        #expect(PowerAnnotationContract.formatSeconds(milliseconds: -1) == "-1")
        #expect(PowerAnnotationContract.formatSeconds(milliseconds: -1000) == "-1")
        #expect(PowerAnnotationContract.formatWatts(0) == "0.00")
    }

    @Test("what the publisher writes reads back as the same value")
    func roundTrip() {
        let written = contract.annotations(watts: 48.5, timestampMilliseconds: 1_769_947_171_000)
        #expect(contract.read(written) == .value(watts: 48.5, lastUpdatedSeconds: 1_769_947_171))
    }

    @Test(
        "absent, half-present and malformed annotations are told apart",
        arguments: [
            ([:], PowerAnnotationContract.Published.absent),
            (["energy.thesis.io/current-watts": "1.00"], .invalid(reason: "energy.thesis.io/last-updated missing while energy.thesis.io/current-watts is set")),
            (["energy.thesis.io/last-updated": "1"], .invalid(reason: "energy.thesis.io/current-watts missing while energy.thesis.io/last-updated is set")),
            (["energy.thesis.io/current-watts": "nan", "energy.thesis.io/last-updated": "1"], .invalid(reason: "energy.thesis.io/current-watts: not a non-negative number (\"nan\")")),
            (["energy.thesis.io/current-watts": "-1", "energy.thesis.io/last-updated": "1"], .invalid(reason: "energy.thesis.io/current-watts: not a non-negative number (\"-1\")")),
            (["energy.thesis.io/current-watts": "1", "energy.thesis.io/last-updated": "0x10"], .invalid(reason: "energy.thesis.io/last-updated: not unix seconds (\"0x10\")")),
        ] as [([String: String], PowerAnnotationContract.Published)]
    )
    func read(annotations: [String: String], expected: PowerAnnotationContract.Published) {
        #expect(contract.read(annotations) == expected)
    }

    @Test("decimals: plain notation only", arguments: [("12.34", 12.34), (" 7 ", 7), ("1e3", 1000), ("-0.5", -0.5)] as [(String, Double)])
    func decimals(text: String, value: Double) {
        #expect(AnnotationDecimal.parse(text) == value)
    }

    @Test("no nan, inf, hexadecimal, empty or overflowing numbers", arguments: ["nan", "inf", "Infinity", "0x1p3", "", " ", "1e999", "1,5"])
    func notDecimals(text: String) {
        #expect(AnnotationDecimal.parse(text) == nil)
    }
}

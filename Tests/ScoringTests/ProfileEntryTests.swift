import Testing

@testable import Scoring

@Suite("ProfileEntry variant matching")
struct ProfileEntryTests {
    @Test(
        "an entry serves every node whose name it contains (Go strings.Contains)",
        arguments: [
            ("dgoh-wyze-cpu", "dgoh-wyze", true),
            ("tvpc-gpu", "tvpc", true),
            ("tvpc-cpu", "pc", true),
            ("rpi-cpu", "rpi", true),
            ("rpi-cpu", "rpi-cpu", true),
            ("rpi-cpu", "rpi-cpu-2", false),
            ("dgoh-wyze-cpu", "wyse", false),
            ("tvpc-cpu", "TVPC", false),
            ("tvpc-cpu", "", false),
            ("caf\u{E9}-cpu", "cafe\u{301}", false),  // byte-wise, not canonical equivalence
        ]
    )
    func serves(entryName: String, node: String, expected: Bool) {
        let entry = ProfileEntry(nodeName: entryName, performanceRate: 1, powerConsumptionWatts: 2, idlePowerWatts: 1)
        #expect(entry.serves(node: node) == expected)
    }

    @Test("derived figures guard against division by zero")
    func derivedFigures() {
        #expect(
            ProfileEntry(nodeName: "a", performanceRate: 10, powerConsumptionWatts: 5, idlePowerWatts: 2).marginalWatts
                == 3)
        #expect(
            ProfileEntry(nodeName: "a", performanceRate: 10, powerConsumptionWatts: 2, idlePowerWatts: 2).marginalWatts
                == 1)
        #expect(
            ProfileEntry(nodeName: "a", performanceRate: 10, powerConsumptionWatts: 5, idlePowerWatts: 2)
                .benchmarkEfficiency == 2)
        #expect(
            ProfileEntry(nodeName: "a", performanceRate: 10, powerConsumptionWatts: 0, idlePowerWatts: 0)
                .benchmarkEfficiency == 10)
    }
}

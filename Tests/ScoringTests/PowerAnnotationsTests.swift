import Foundation
import Testing

@testable import Scoring

@Suite("PowerAnnotations")
struct PowerAnnotationsTests {
    let reader = PowerAnnotations()
    let now = Date(timeIntervalSince1970: 1_769_947_200)

    func annotations(watts: String?, updated: String?) -> [String: String] {
        var result = ["unrelated/annotation": "x"]
        result["energy.thesis.io/current-watts"] = watts
        result["energy.thesis.io/last-updated"] = updated
        return result
    }

    @Test("a reading younger than 30 s is fresh and usable")
    func fresh() {
        let power = reader.read(annotations(watts: "48.50", updated: "1769947171"), now: now)  // 29 s old
        #expect(power == .fresh(watts: 48.5, age: 29))
        #expect(power.usableWatts == 48.5)
    }

    @Test("a reading 30 s old or older is stale and not used", arguments: ["1769947170", "1769940000"])
    func stale(updated: String) {
        let power = reader.read(annotations(watts: "48.50", updated: updated), now: now)
        guard case .stale(let watts, let age) = power else {
            Issue.record("expected stale, got \(power)")
            return
        }
        #expect(watts == 48.5)
        #expect(age >= 30)
        #expect(power.usableWatts == nil)
    }

    @Test("the freshness limit and prefix are configurable")
    func configurable() {
        let custom = PowerAnnotations(prefix: "power.example.org", maxAge: 5)
        let annotations = ["power.example.org/current-watts": "3.00", "power.example.org/last-updated": "1769947196"]
        #expect(custom.read(annotations, now: now) == .fresh(watts: 3, age: 4))
        #expect(custom.read(annotations, now: now.addingTimeInterval(1)).usableWatts == nil)
        #expect(reader.read(annotations, now: now) == .absent)
    }

    @Test("a small clock skew into the future counts as age 0; a large one is invalid")
    func future() {
        #expect(reader.read(annotations(watts: "1.00", updated: "1769947205"), now: now) == .fresh(watts: 1, age: 0))
        #expect(
            reader.read(annotations(watts: "1.00", updated: "1769947300"), now: now)
                == .invalid(reason: "energy.thesis.io/last-updated: 100 s in the future")
        )
    }

    @Test(
        "bad values are reported, not guessed",
        arguments: [
            ("abc", "1769947190", "energy.thesis.io/current-watts: not a non-negative number (\"abc\")"),
            ("-3.00", "1769947190", "energy.thesis.io/current-watts: not a non-negative number (\"-3.00\")"),
            ("nan", "1769947190", "energy.thesis.io/current-watts: not a non-negative number (\"nan\")"),
            ("", "1769947190", "energy.thesis.io/current-watts: not a non-negative number (\"\")"),
            (
                "12.00", "2026-02-01T12:00:00Z",
                "energy.thesis.io/last-updated: not unix seconds (\"2026-02-01T12:00:00Z\")"
            ),
        ]
    )
    func invalid(watts: String, updated: String, reason: String) {
        #expect(reader.read(annotations(watts: watts, updated: updated), now: now) == .invalid(reason: reason))
    }

    @Test("one annotation without the other is invalid; neither is absent")
    func partial() {
        #expect(
            reader.read(annotations(watts: "1.00", updated: nil), now: now)
                == .invalid(reason: "energy.thesis.io/last-updated missing while energy.thesis.io/current-watts is set")
        )
        #expect(
            reader.read(annotations(watts: nil, updated: "1769947190"), now: now)
                == .invalid(reason: "energy.thesis.io/current-watts missing while energy.thesis.io/last-updated is set")
        )
        #expect(reader.read(annotations(watts: nil, updated: nil), now: now) == .absent)
    }

    @Test("what the monitor writes reads back as fresh")
    func roundTrip() {
        let written = reader.annotations(watts: 12.345, at: now.addingTimeInterval(-3.7))
        #expect(written == ["energy.thesis.io/current-watts": "12.35", "energy.thesis.io/last-updated": "1769947196"])
        #expect(reader.read(written, now: now) == .fresh(watts: 12.35, age: 4))
    }
}

import EnergyModel
import Testing

@Suite("Wall clock")
struct WallClockTests {
    @Test(
        "the next boundary is the first multiple of the interval strictly after the time",
        arguments: [
            (Int64(0), Int64(1_000_000_000), Int64(1_000_000_000)),
            (1, 1_000_000_000, 1_000_000_000),
            (999_999_999, 1_000_000_000, 1_000_000_000),
            (1_000_000_000, 1_000_000_000, 2_000_000_000),
            (1_769_030_701_250_000_000, 1_000_000_000, 1_769_030_702_000_000_000),
            (1_769_030_701_250_000_000, 100_000_000, 1_769_030_701_300_000_000),
        ]
    )
    func nextBoundary(now: Int64, interval: Int64, expected: Int64) {
        #expect(WallClock.nextBoundary(after: now, intervalNanoseconds: interval) == expected)
    }

    @Test("the readings agree with each other and with the calendar")
    func readings() {
        let milliseconds = WallClock.nowMilliseconds()
        let nanoseconds = WallClock.nowNanoseconds()
        let seconds = WallClock.nowSeconds()
        #expect(milliseconds > 1_700_000_000_000)  // after November 2023
        #expect(nanoseconds / 1_000_000 >= milliseconds && nanoseconds / 1_000_000 - milliseconds < 1000)
        #expect(seconds * 1000 >= Double(milliseconds) && seconds * 1000 - Double(milliseconds) < 1000)
    }
}

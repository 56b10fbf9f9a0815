import PodEnergy
import TestSupport
import Testing

@Suite("Static power fit")
struct StaticPowerFitTests {
    static let day: Int64 = 86_400_000
    static let start: Int64 = 1_700_000_000_000

    /// A fit fed `count` samples 15 s apart from `start`, usage uniform in `usage`, power
    /// `truth(u)` plus noise uniform in ±`noise` watts.
    static func fed(
        _ fit: StaticPowerFit, count: Int, usage: ClosedRange<Double>, noise: Double, seed: UInt64,
        from start: Int64 = start, truth: (Double) -> Double
    ) -> StaticPowerFit {
        var fit = fit
        var random = SeededGenerator(seed: seed)
        for index in 0..<count {
            let cores = Double.random(in: usage, using: &random)
            let jitter = noise > 0 ? Double.random(in: -noise...noise, using: &random) : 0
            fit.add(timestampMilliseconds: start + Int64(index) * 15_000, cpuCores: cores, watts: truth(cores) + jitter)
        }
        return fit
    }

    static func fit(starting: Double? = 25, override: Double? = nil) -> StaticPowerFit {
        StaticPowerFit(windowMilliseconds: day, startingWatts: starting, overrideWatts: override)
    }

    @Test(
        "a linear truth (30 W static, 12 W/core, noise ±1 W) is recovered within 2 %", arguments: [1, 2, 3] as [UInt64])
    func linearTruth(seed: UInt64) throws {
        let fit = Self.fed(Self.fit(), count: 240, usage: 0.1...8, noise: 1, seed: seed) { 30 + 12 * $0 }
        let estimate = fit.estimate
        #expect(estimate.source == .fitted)
        #expect(estimate.samples == 240)
        let watts = try #require(estimate.staticWatts)
        #expect(abs(watts - 30) <= 0.6, "\(estimate)")
        let slope = try #require(estimate.wattsPerCore)
        #expect(abs(slope - 12) <= 0.6, "\(estimate)")
        // Uniform noise of ±1 W has an RMS of 1/√3.
        let rms = try #require(estimate.rmsErrorWatts)
        #expect(rms > 0.45 && rms < 0.7, "\(estimate)")
    }

    @Test("a concave truth (P = 30 + 15u − 1.2u²) is recovered within 5 %", arguments: [1, 2, 3] as [UInt64])
    func concaveTruth(seed: UInt64) throws {
        let fit = Self.fed(Self.fit(), count: 240, usage: 0.2...6, noise: 0.5, seed: seed) {
            30 + 15 * $0 - 1.2 * $0 * $0
        }
        let estimate = fit.estimate
        #expect(estimate.source == .fitted)
        let watts = try #require(estimate.staticWatts)
        // A straight line through this curve would read its intercept several watts too high.
        #expect(abs(watts - 30) <= 1.5, "\(estimate)")
        let slope = try #require(estimate.wattsPerCore)
        #expect(abs(slope - 15) <= 1.5, "\(estimate)")
    }

    @Test("usage at two values or a convex truth: the straight line is taken")
    func convexFallsBackToLine() throws {
        // Usage at two values only: the quadratic is singular, the line goes through both.
        var fit = Self.fit()
        for index in 0..<40 {
            let cores = index % 2 == 0 ? 1.0 : 3.0
            fit.add(timestampMilliseconds: Self.start + Int64(index) * 15_000, cpuCores: cores, watts: 30 + 12 * cores)
        }
        let line = fit.estimate
        #expect(line.source == .fitted)
        #expect(abs(try #require(line.staticWatts) - 30) < 1e-9)
        #expect(abs(try #require(line.wattsPerCore) - 12) < 1e-9)
        #expect(try #require(line.rmsErrorWatts) < 1e-9)
        // A convex truth (c > 0): the straight line is taken, not the quadratic's exact intercept.
        let convex = Self.fed(Self.fit(), count: 200, usage: 0...4, noise: 0, seed: 9) { 30 + 2 * $0 * $0 }
        let estimate = convex.estimate
        let watts = try #require(estimate.staticWatts)
        #expect(estimate.source == .fitted)
        #expect(watts < 29, "the line's intercept lies below a convex curve's: \(estimate)")
        #expect(try #require(estimate.rmsErrorWatts) > 0.5)
    }

    @Test("too few samples or too little spread of usage: the starting value, or none")
    func startingValue() {
        let few = Self.fed(Self.fit(), count: 19, usage: 0...8, noise: 1, seed: 4) { 30 + 12 * $0 }
        #expect(
            few.estimate
                == StaticPowerEstimate(
                    staticWatts: 25, wattsPerCore: nil, samples: 19, rmsErrorWatts: nil, source: .starting))
        let uniform = Self.fed(Self.fit(), count: 500, usage: 2...2.4, noise: 1, seed: 5) { 30 + 12 * $0 }
        #expect(uniform.estimate.source == .starting && uniform.estimate.staticWatts == 25)
        let nothing = Self.fed(Self.fit(starting: nil), count: 10, usage: 0...8, noise: 1, seed: 6) { 30 + 12 * $0 }
        #expect(
            nothing.estimate
                == StaticPowerEstimate(
                    staticWatts: nil, wattsPerCore: nil, samples: 10, rmsErrorWatts: nil, source: .none))
        // A starting value that is not a power reads as none.
        #expect(Self.fit(starting: .nan).estimate.source == .none)
        #expect(Self.fit(starting: -3).estimate.staticWatts == nil)
        // The same samples with enough of them fit.
        let enough = Self.fed(Self.fit(), count: 20, usage: 0...8, noise: 1, seed: 4) { 30 + 12 * $0 }
        #expect(enough.estimate.source == .fitted)
    }

    @Test("identical usage with no spread required: the fit cannot solve and the starting value stands")
    func singular() {
        var fit = StaticPowerFit(
            windowMilliseconds: Self.day, startingWatts: 25, overrideWatts: nil, minimumSamples: 5,
            minimumSpreadCores: 0)
        for index in 0..<50 { fit.add(timestampMilliseconds: Int64(index) * 1000, cpuCores: 2, watts: 54) }
        #expect(fit.estimate.source == .starting && fit.estimate.staticWatts == 25)
    }

    @Test("an override wins over a good fit")
    func override() {
        let fit = Self.fed(Self.fit(override: 42), count: 240, usage: 0.1...8, noise: 1, seed: 7) { 30 + 12 * $0 }
        #expect(
            fit.estimate
                == StaticPowerEstimate(
                    staticWatts: 42, wattsPerCore: nil, samples: 240, rmsErrorWatts: nil, source: .override))
        let invalid = Self.fed(Self.fit(override: .infinity), count: 240, usage: 0.1...8, noise: 1, seed: 7) {
            30 + 12 * $0
        }
        #expect(invalid.estimate.source == .fitted)
    }

    @Test("samples older than the window relative to the newest are forgotten")
    func window() throws {
        let hour: Int64 = 3_600_000
        var fit = StaticPowerFit(windowMilliseconds: hour, startingWatts: nil, overrideWatts: nil)
        // An hour at 15 s is 240 samples of a 30 W node, then 240 of a 50 W one.
        fit = Self.fed(fit, count: 240, usage: 0.1...8, noise: 1, seed: 8) { 30 + 12 * $0 }
        #expect(abs(try #require(fit.estimate.staticWatts) - 30) < 0.6)
        fit = Self.fed(fit, count: 240, usage: 0.1...8, noise: 1, seed: 8, from: Self.start + 240 * 15_000) {
            50 + 12 * $0
        }
        // The window holds the newest sample and everything up to an hour before it.
        #expect(fit.sampleCount == 241)
        #expect(abs(try #require(fit.estimate.staticWatts) - 50) < 1)
        // A sample older than the window is ignored; an out-of-order one inside it is kept.
        fit.add(timestampMilliseconds: Self.start, cpuCores: 0, watts: 0)
        #expect(fit.sampleCount == 241)
        fit.add(timestampMilliseconds: Self.start + 400 * 15_000 + 1, cpuCores: 4, watts: 98)
        #expect(fit.sampleCount == 242)
        // Far newer samples forget every older one.
        fit.add(timestampMilliseconds: Self.start + Self.day, cpuCores: 1, watts: 62)
        #expect(fit.sampleCount == 1)
        #expect(fit.estimate.source == .none)
    }

    @Test("the number of samples is bounded whatever the rate")
    func bounded() {
        var fit = StaticPowerFit(windowMilliseconds: Self.day, startingWatts: nil, overrideWatts: nil)
        for second in 0..<30_000 {
            fit.add(
                timestampMilliseconds: Int64(second) * 1000, cpuCores: Double(second % 8),
                watts: 30 + 12 * Double(second % 8))
        }
        #expect(fit.sampleCount == 20_000)
        #expect(fit.estimate.samples == 20_000)
        var small = StaticPowerFit(
            windowMilliseconds: Self.day, startingWatts: nil, overrideWatts: nil, sampleLimit: 50)
        for second in 0..<100 { small.add(timestampMilliseconds: Int64(second), cpuCores: 1, watts: 1) }
        #expect(small.sampleCount == 50)
    }

    @Test("the intercept is clamped into [0, lowest observed watts] and the slope at 0")
    func clamps() throws {
        // A line that crosses zero above u = 0 would give a negative static power.
        let negative = Self.fed(Self.fit(), count: 100, usage: 1...5, noise: 0, seed: 10) { -10 + 20 * $0 }
        #expect(negative.estimate.staticWatts == 0)
        #expect(abs(try #require(negative.estimate.wattsPerCore) - 20) < 1e-6)
        // Power falling with usage: the intercept would exceed every reading.
        let falling = Self.fed(Self.fit(), count: 100, usage: 1...4, noise: 0, seed: 11) { 50 - 5 * $0 }
        // The lowest reading is 50 − 5 × (the highest usage, just under 4 cores): just over 30 W.
        let watts = try #require(falling.estimate.staticWatts)
        #expect(watts >= 30 && watts < 31, "\(falling.estimate)")
        #expect(falling.estimate.wattsPerCore == 0)
    }

    @Test("non-finite and negative samples are ignored; extreme magnitudes give finite estimates")
    func badInput() {
        var fit = Self.fit()
        for (cores, watts) in [(Double.nan, 10.0), (1, .nan), (.infinity, 10), (1, -.infinity), (-1, 10), (1, -5)] {
            fit.add(timestampMilliseconds: Self.start, cpuCores: cores, watts: watts)
        }
        #expect(fit.sampleCount == 0)
        var random = SeededGenerator(seed: 12)
        let extremes: [Double] = [0, .leastNonzeroMagnitude, 1e-300, 1e-9, 1, 1e9, 1e300, .greatestFiniteMagnitude]
        for _ in 0..<200 {
            var extreme = StaticPowerFit(
                windowMilliseconds: .max, startingWatts: 1, overrideWatts: nil, minimumSamples: 3)
            for _ in 0..<Int.random(in: 0...30, using: &random) {
                extreme.add(
                    timestampMilliseconds: [Int64.min, 0, .max].randomElement(using: &random)!,
                    cpuCores: extremes.randomElement(using: &random)!, watts: extremes.randomElement(using: &random)!)
            }
            let estimate = extreme.estimate
            for value in [estimate.staticWatts, estimate.wattsPerCore, estimate.rmsErrorWatts].compactMap({ $0 }) {
                #expect(value.isFinite && value >= 0, "\(estimate)")
            }
        }
    }
}

import Foundation

extension LoadProfile {
    /// Energy between `from` and `to` (unix seconds) in joules, from the curve's antiderivative:
    /// exact to floating-point rounding, in constant time however long the window (the
    /// simulated plugs' counters are this integral since their boot). The curve is taken as
    /// written, without the clamp at 0 W that `watts(at:)` applies: every profile the simulator
    /// offers stays above 0 W. A job shape whose ramps overlap is integrated numerically.
    public func exactJoules(from: Double, to: Double) -> Double {
        guard to > from, from.isFinite, to.isFinite else { return 0 }
        let turn = 2 * Double.pi
        var total = idleWatts * (to - from)
        total += driftWatts * 600 / turn * (cos(turn * from / 600) - cos(turn * to / 600))
        total +=
            rippleWatts
            * (0.6 * 7.3 / turn * (cos(turn * from / 7.3) - cos(turn * to / 7.3))
                + 0.4 * 2.9 / turn * (cos(turn * from / 2.9) - cos(turn * to / 2.9)))
        if jobWatts != 0, jobPeriodSeconds > 0 {
            let ramp = max(rampSeconds, 1e-9)
            if jobDurationSeconds >= 2 * ramp, jobDurationSeconds <= jobPeriodSeconds {
                total += jobWatts * (jobArea(upTo: to, ramp: ramp) - jobArea(upTo: from, ramp: ramp))
            } else {
                let steps = max(2, Int(clampingRounding: (to - from) * 1000, .up) / 2 * 2)
                let h = (to - from) / Double(steps)
                var sum = jobShape(at: from) + jobShape(at: to)
                for i in 1..<steps { sum += (i % 2 == 1 ? 4 : 2) * jobShape(at: from + Double(i) * h) }
                total += jobWatts * sum * h / 3
            }
        }
        return total
    }

    /// The area under `jobShape` from the start of the period holding time 0 (shifted by the
    /// phase) up to `t`: whole periods plus the part of the current one.
    private func jobArea(upTo t: Double, ramp: Double) -> Double {
        let shifted = t + phaseSeconds
        let periods = (shifted / jobPeriodSeconds).rounded(.down)
        let position = shifted - periods * jobPeriodSeconds
        return periods * areaWithinPeriod(jobPeriodSeconds, ramp: ramp) + areaWithinPeriod(position, ramp: ramp)
    }

    /// The area under `jobShape` over `[0, p]` of one period: a cosine ramp up, the plateau,
    /// a cosine ramp down (each ramp adds half its length).
    private func areaWithinPeriod(_ p: Double, ramp: Double) -> Double {
        let duration = jobDurationSeconds
        if p <= 0 { return 0 }
        if p < ramp { return p / 2 - ramp / (2 * Double.pi) * sin(Double.pi * p / ramp) }
        if p <= duration - ramp { return ramp / 2 + (p - ramp) }
        if p < duration {
            return ramp / 2 + (duration - 2 * ramp) + (p - duration + ramp) / 2
                + ramp / (2 * Double.pi) * sin(Double.pi * (duration - p) / ramp)
        }
        return duration - ramp
    }
}

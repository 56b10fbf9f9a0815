import EnergyModel
import Foundation

/// A deterministic, smooth power curve of a simulated node: idle power, a slow drift, and
/// periodic jobs with cosine ramps, plus small deterministic ripple. Being a pure function of
/// time, its exact energy over any window is known, which tests use as ground truth.
public struct LoadProfile: Sendable, Equatable {
    /// Power when nothing runs, in watts.
    public var idleWatts: Double
    /// Extra power while a job runs, in watts.
    public var jobWatts: Double
    /// A job starts every `jobPeriodSeconds`...
    public var jobPeriodSeconds: Double
    /// ...and runs this long, ramps included.
    public var jobDurationSeconds: Double
    /// Length of the ramp up and of the ramp down, in seconds.
    public var rampSeconds: Double
    /// Amplitude of the slow drift, in watts.
    public var driftWatts: Double
    /// Amplitude of the ripple, in watts.
    public var rippleWatts: Double
    /// Shifts the job schedule so that nodes do not all start jobs together.
    public var phaseSeconds: Double

    /// Creates a profile.
    public init(
        idleWatts: Double,
        jobWatts: Double,
        jobPeriodSeconds: Double = 120,
        jobDurationSeconds: Double = 45,
        rampSeconds: Double = 3,
        driftWatts: Double = 0,
        rippleWatts: Double = 0,
        phaseSeconds: Double = 0
    ) {
        self.idleWatts = idleWatts
        self.jobWatts = jobWatts
        self.jobPeriodSeconds = jobPeriodSeconds
        self.jobDurationSeconds = jobDurationSeconds
        self.rampSeconds = rampSeconds
        self.driftWatts = driftWatts
        self.rippleWatts = rippleWatts
        self.phaseSeconds = phaseSeconds
    }

    /// The reference cluster's master: i5 + GTX 1060, about 48 W idle, GPU jobs to 180 W.
    public static let tvpc = LoadProfile(
        idleWatts: 48.5, jobWatts: 130, jobPeriodSeconds: 90, jobDurationSeconds: 40, rampSeconds: 4,
        driftWatts: 1.5, rippleWatts: 0.8, phaseSeconds: 10
    )
    /// The Celeron J4105 worker: 2.5 W idle, about 12.8 W under full CPU load.
    public static let wyse = LoadProfile(
        idleWatts: 2.75, jobWatts: 10, jobPeriodSeconds: 75, jobDurationSeconds: 50, rampSeconds: 2,
        driftWatts: 0.1, rippleWatts: 0.15, phaseSeconds: 30
    )
    /// The Raspberry Pi 2B: 2.3 W idle, 2.9 W busy.
    public static let rpi = LoadProfile(
        idleWatts: 2.32, jobWatts: 0.6, jobPeriodSeconds: 60, jobDurationSeconds: 35, rampSeconds: 1,
        driftWatts: 0.03, rippleWatts: 0.04, phaseSeconds: 5
    )

    /// A varied profile for simulated plug `index`.
    public static func generic(index: Int) -> LoadProfile {
        let spread = Double(index % 7)
        return LoadProfile(
            idleWatts: 5 + 3 * spread, jobWatts: 20 + 10 * Double(index % 5), jobPeriodSeconds: 40 + 5 * spread,
            jobDurationSeconds: 15 + 2 * spread, rampSeconds: 2, driftWatts: 0.5, rippleWatts: 0.3,
            phaseSeconds: Double(index * 7 % 40)
        )
    }

    /// Power at unix time `t` (seconds), in watts.
    public func watts(at t: Double) -> Double {
        let drift = driftWatts * sin(2 * Double.pi * t / 600)
        let ripple = rippleWatts * (0.6 * sin(2 * Double.pi * t / 7.3) + 0.4 * sin(2 * Double.pi * t / 2.9))
        return max(0, idleWatts + drift + ripple + jobWatts * jobShape(at: t))
    }

    /// 0 when idle, 1 in a job's plateau, cosine ramps in between.
    func jobShape(at t: Double) -> Double {
        guard jobWatts != 0, jobPeriodSeconds > 0 else { return 0 }
        var position = (t + phaseSeconds).truncatingRemainder(dividingBy: jobPeriodSeconds)
        if position < 0 { position += jobPeriodSeconds }
        let ramp = max(rampSeconds, 1e-9)
        if position >= jobDurationSeconds { return 0 }
        if position < ramp { return 0.5 - 0.5 * cos(Double.pi * position / ramp) }
        if position > jobDurationSeconds - ramp {
            return 0.5 - 0.5 * cos(Double.pi * (jobDurationSeconds - position) / ramp)
        }
        return 1
    }

    /// Energy between `from` and `to` (unix seconds) in joules, integrated numerically with a
    /// 1 ms step (Simpson's rule); the curve is smooth, so this is exact to far below 0.01 %.
    public func joules(from: Double, to: Double) -> Double {
        guard to > from else { return 0 }
        let steps = max(2, Int(clampingRounding: (to - from) * 1000, .up) / 2 * 2)
        let h = (to - from) / Double(steps)
        var sum = watts(at: from) + watts(at: to)
        for i in 1..<steps {
            sum += (i % 2 == 1 ? 4 : 2) * watts(at: from + Double(i) * h)
        }
        return sum * h / 3
    }
}

extension LoadProfile {
    /// Profile names accepted by `named(_:index:)`.
    public static let shapeNames = ["generic", "flat", "step"]

    /// A steady load for simulated plug `index`: constant power with a ripple of 0.3 W,
    /// well inside the default 1 W / 5 % annotation deadband.
    public static func flat(index: Int) -> LoadProfile {
        LoadProfile(idleWatts: 40 + 5 * Double(index % 5), jobWatts: 0, rippleWatts: 0.3)
    }

    /// A square wave for simulated plug `index`: 30 W, jumping to 60 W for 10 s every 20 s
    /// (edges of one millisecond), to measure how fast a step is published.
    public static func step(index: Int) -> LoadProfile {
        LoadProfile(
            idleWatts: 30, jobWatts: 30, jobPeriodSeconds: 20, jobDurationSeconds: 10, rampSeconds: 0.001,
            rippleWatts: 0.2, phaseSeconds: Double(index * 3 % 20)
        )
    }

    /// The profile called `name` (see `shapeNames`) for plug `index`, or nil.
    public static func named(_ name: String, index: Int) -> LoadProfile? {
        switch name {
        case "generic": generic(index: index)
        case "flat": flat(index: index)
        case "step": step(index: index)
        default: nil
        }
    }
}

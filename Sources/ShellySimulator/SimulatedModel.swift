/// What a simulated device is.
public enum SimulatedModel: String, Sendable, CaseIterable {
    /// A plug: Gen1 Plug S (`meters[0]`) or a Gen2+ plug (`switch:0`).
    case plug
    /// A three-phase energy meter: Gen1 3EM (`emeters[0..2]`, `em_data.csv`) or Pro 3EM
    /// (`em:0`, `emdata:0` with its per-minute records). The load is shared out over the phases
    /// (`phaseShares`); on Gen1 the monitor reads one phase, `emeters[channel]`.
    case threePhaseMeter = "3em"

    /// The share of the load on each phase of a three-phase meter (a, b, c).
    public static let phaseShares = [0.5, 0.3, 0.2]

    /// How many minutes of records a simulated meter keeps: 60 days on the Pro 3EM, a day on
    /// the Gen1 3EM (its `em_data.csv` comes whole with every request).
    public func historyMinutes(generation: Int) -> Int64 {
        generation == 1 ? 1440 : 60 * 1440
    }
}

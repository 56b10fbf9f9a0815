/// Which way the wall clock was stepped: the label of `energy_monitor_clock_steps_total`.
public enum ClockStepDirection: String, Sendable, CaseIterable {
    /// Set ahead (a board without a real-time clock getting its time, a resumed machine).
    case forward
    /// Set back (a clock that was ahead corrected, by NTP or by hand).
    case backward
}

/// What became of a gap between two samples of a node longer than the bridging limit. The
/// values are the `outcome` label of `energy_monitor_gap_seconds_total`.
public enum GapOutcome: String, Sendable, CaseIterable {
    /// Its energy was recorded from the device's counter or its per-minute figures.
    case backfilled
    /// The device rebooted in it (its uptime is shorter than the gap): its counter restarted
    /// and cannot bridge the gap, which stays a gap.
    case deviceRebooted = "device_rebooted"
    /// The device's figures cannot be believed for it: the counter went down while the device
    /// stayed up, rose faster than the meter's maximum power allows, or the wall clock was
    /// stepped in the gap. It stays a gap.
    case implausible
    /// Nothing can bridge it: no counter reading right before it or right after it, or no
    /// uptime to prove the device kept counting. It stays a gap.
    case noCounter = "no_counter"
}

/// The version of energy-monitor, shown by `--version` and `energy_monitor_build_info`.
public enum EnergyMonitorVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}

/// How the simulated metrics-server reports CPU usage (`metrics.k8s.io/v1beta1`): every
/// answer at time t has the timestamp t rounded down to `resolutionMilliseconds`, a window of
/// that length, and the exact mean usage over the window (pods' loads from `setCPULoad`, the
/// nodes' system loads from `systemCores` and `setSystemLoad`).
public struct ResourceMetricsModel: Sendable, Equatable {
    /// How often the metrics change (metrics-server's `--metric-resolution`, 15 s by default),
    /// in whole seconds: the API writes timestamps in whole seconds.
    public var resolutionMilliseconds: Int64
    /// Each node's load that belongs to no pod (kubelet, container runtime, the OS), in
    /// cores, from the start; `setSystemLoad` changes it later.
    public var systemCores: [String: Double]

    /// Creates a model; the resolution is rounded to whole seconds, at least one.
    public init(resolutionMilliseconds: Int64 = 15_000, systemCores: [String: Double] = [:]) {
        self.resolutionMilliseconds = max(1000, (resolutionMilliseconds + 500) / 1000 * 1000)
        self.systemCores = systemCores
    }
}

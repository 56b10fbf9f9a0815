/// How a node's static power (what it draws at zero CPU usage) is shared among its pods.
///
/// Static power is spent whether pods run or not, so no usage figure can split it; each policy
/// is a different answer to "who is the node on for".
public enum StaticPowerPolicy: String, Sendable, CaseIterable {
    /// Running pods share it in proportion to their CPU requests, out of the node's allocatable
    /// cores: what is requested reserves the node; the unrequested part stays idle.
    case requests
    /// Running pods share it in equal parts; all of it stays idle when none runs.
    case even
    /// Pods get none of it: all static energy stays idle.
    case none
}

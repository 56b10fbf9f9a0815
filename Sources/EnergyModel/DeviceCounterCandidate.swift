/// A refused counter value that may become the new baseline if the readings after it go on
/// consistently from it.
public struct DeviceCounterCandidate: Sendable, Equatable {
    /// The refused value that started it, watt-hours.
    public var firstWattHours: Double
    /// The latest value, watt-hours.
    public var wattHours: Double
    /// When the latest value was first seen, unix milliseconds.
    public var milliseconds: Int64
    /// Consistent readings since the first.
    public var readings: Int
}

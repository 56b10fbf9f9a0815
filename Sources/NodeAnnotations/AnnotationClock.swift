import EnergyModel

/// The time source of the annotation publisher: wall-clock milliseconds (annotations carry
/// unix time) and sleeping until a wall-clock instant. Tests substitute a manual clock.
public protocol AnnotationClock: Sendable {
    /// Unix time now in milliseconds.
    func nowMilliseconds() -> Int64
    /// Returns at or after unix time `deadline` (milliseconds); throws when cancelled.
    func sleep(untilMilliseconds deadline: Int64) async throws
}

/// The real clock.
public struct WallAnnotationClock: AnnotationClock {
    /// Creates the clock.
    public init() {}

    /// Unix time now in milliseconds.
    public func nowMilliseconds() -> Int64 { WallClock.nowMilliseconds() }

    /// Sleeps until `deadline`.
    public func sleep(untilMilliseconds deadline: Int64) async throws {
        let remaining = deadline - WallClock.nowMilliseconds()
        if remaining > 0 { try await Task.sleep(for: .milliseconds(remaining)) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the real-time (wall) clock. Ticks, sample times and annotation times are wall-clock
/// based because users correlate them with other systems' clocks.
public enum WallClock {
    /// Unix time now in milliseconds.
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// Unix time now in nanoseconds.
    public static func nowNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Unix time now in seconds.
    public static func nowSeconds() -> Double {
        Double(nowNanoseconds()) / 1e9
    }

    /// The first multiple of `intervalNanoseconds` strictly after `nanoseconds`.
    public static func nextBoundary(after nanoseconds: Int64, intervalNanoseconds: Int64) -> Int64 {
        (nanoseconds / intervalNanoseconds + 1) * intervalNanoseconds
    }
}

/// Reads the monotonic clock (`CLOCK_MONOTONIC`): how much time passed, unmoved by steps of
/// the wall clock (an NTP correction, a board without a real-time clock setting its time, a
/// resumed virtual machine). Intervals, deadlines and the tick schedule use it.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (the boot), never going back.
    public static func nowNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Process resource limits.
enum ResourceLimits {
    /// Raises the soft open-file limit to the hard one: each concurrent plug poll holds a
    /// socket, and the usual soft limit of 1,024 is below a large cluster's plug count.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

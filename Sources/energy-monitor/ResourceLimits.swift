#if canImport(Glibc)
import Glibc
#endif

/// Process resource limits.
enum ResourceLimits {
    /// Caps glibc's malloc at two arenas. By default each thread that allocates may get an
    /// arena of its own (up to 8 per core), each holding freed memory back from the system;
    /// the service's few busy threads do not need them, and its resident memory shrinks.
    static func limitMallocArenas() {
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not import; look it
        // up in the already loaded C library instead. M_ARENA_MAX is -8.
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: MallOpt.self)(-8, 2)
        #endif
    }

    /// Raises the soft open-file limit to the hard one: each concurrent plug poll holds a
    /// socket, and the usual soft limit of 1,024 is below a large cluster's plug count.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file read from a path a user gave (a configuration, a password or token file, a
/// workflow, a knowledge base, a kubeconfig): regular files only, bounded in size and time.
///
/// The path is opened with `O_NONBLOCK` and the type checked on the open descriptor (`fstat`):
/// a FIFO in place of the file would otherwise block `open()` until some writer comes, a device
/// such as `/dev/zero` would be read forever, and a directory gave "NSCocoaErrorDomain error
/// 256". Each is refused with one line saying what the path is. Content and identity come from
/// the same descriptor, so they belong together even while the file is replaced (a ConfigMap
/// volume update swaps a symlink).
public struct UserFile: Sendable {
    /// The largest file read by default, 16 MiB: the largest configuration we write (20,000
    /// simulated plugs) has 1.3 MB, a kubeconfig with embedded certificates some 20 KB.
    public static let defaultMaxBytes = 16 << 20
    /// How long reading may take by default: a regular file on a local disk takes
    /// microseconds. The bound is checked between reads of 64 KiB, so a file that trickles in
    /// from a slow network file system is refused; a single `read` that hangs (a dead mount)
    /// is bounded only by callers that read on a thread of their own, as the extender's
    /// knowledge-base reloader does.
    public static let defaultTimeout = Duration.seconds(5)

    /// What identifies one version of a file without reading it: a replaced file (an editor's
    /// atomic save, a ConfigMap update) has a new inode, an edit in place a new size or time.
    public struct Identity: Sendable, Hashable {
        /// Device of the file system.
        public var device: UInt64
        /// Inode number.
        public var inode: UInt64
        /// Size in bytes.
        public var size: Int64
        /// Modification time, seconds.
        public var modifiedSeconds: Int64
        /// Modification time, nanoseconds within the second.
        public var modifiedNanoseconds: Int64
    }

    /// The path as given.
    public let path: String
    /// The file's bytes.
    public let bytes: [UInt8]
    /// The identity of the version read.
    public let identity: Identity

    /// Reads the regular file at `path` (symlinks followed), at most `maxBytes`, within `timeout`.
    public init(path: String, maxBytes: Int = defaultMaxBytes, timeout: Duration = defaultTimeout) throws(UserFileError)
    {
        let started = ContinuousClock.now
        // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a
        // writer; on a regular file the flag changes nothing. O_NOCTTY: a terminal device
        // must not become our controlling terminal before fstat refuses it.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw UserFileError(path: path, openError: errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw UserFileError(path: path, reason: .system(errno)) }
        let kind = UserFileError.Kind(mode: info.st_mode)
        guard kind == .regular else { throw UserFileError(path: path, reason: .notRegular(kind)) }
        guard Int64(info.st_size) <= Int64(maxBytes) else {
            throw UserFileError(path: path, reason: .tooLarge(maxBytes))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            guard ContinuousClock.now - started < timeout else {
                throw UserFileError(path: path, reason: .tooSlow(timeout))
            }
            let count = chunk.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw UserFileError(path: path, reason: .system(errno))
            }
            if count == 0 { break }
            // The file may grow while it is read.
            guard bytes.count + count <= maxBytes else { throw UserFileError(path: path, reason: .tooLarge(maxBytes)) }
            bytes.append(contentsOf: chunk[0..<count])
        }
        self.path = path
        self.bytes = bytes
        self.identity = Identity(info)
    }

    /// The identity of what `path` resolves to now (symlinks followed), without opening it.
    public static func identity(of path: String) throws(UserFileError) -> Identity {
        var info = stat()
        guard stat(path, &info) == 0 else { throw UserFileError(path: path, openError: errno) }
        return Identity(info)
    }

    /// The content as UTF-8 text.
    public func text() throws(UserFileError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw UserFileError(path: path, reason: .notText)
        }
        return text
    }
}

/// The C `read`, under a name that nothing here shadows.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

extension UserFile.Identity {
    init(_ info: stat) {
        #if canImport(Darwin)
            let modified = info.st_mtimespec
        #else
            let modified = info.st_mtim
        #endif
        self.init(
            device: UInt64(info.st_dev),
            inode: UInt64(info.st_ino),
            size: Int64(info.st_size),
            modifiedSeconds: Int64(modified.tv_sec),
            modifiedNanoseconds: Int64(modified.tv_nsec)
        )
    }
}

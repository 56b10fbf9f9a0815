#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file a user named could not be read, in words a user recognises: `no such file`,
/// `a FIFO (named pipe), not a regular file`, `larger than 16MiB`.
public struct UserFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What a path that is not a regular file is.
    public enum Kind: String, Sendable, Hashable {
        /// A regular file.
        case regular = "a regular file"
        /// A directory.
        case directory = "a directory"
        /// A FIFO.
        case fifo = "a FIFO (named pipe)"
        /// A character device (`/dev/zero`, a terminal).
        case characterDevice = "a character device"
        /// A block device.
        case blockDevice = "a block device"
        /// A Unix socket.
        case socket = "a socket"
        /// Anything else.
        case other = "not a regular file"

        init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFDIR: self = .directory
            case S_IFIFO: self = .fifo
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFSOCK: self = .socket
            default: self = .other
            }
        }
    }

    /// Why the file was not read.
    public enum Reason: Sendable, Hashable {
        /// Nothing at the path (or a folder on the way is missing).
        case missing
        /// The process may not read it.
        case permissionDenied
        /// The path is something other than a regular file.
        case notRegular(Kind)
        /// Larger than the reader's limit (bytes).
        case tooLarge(Int)
        /// Reading took longer than the reader's limit.
        case tooSlow(Duration)
        /// The bytes are not UTF-8 text.
        case notText
        /// Another system error (`errno`).
        case system(Int32)
    }

    /// The path as given.
    public let path: String
    /// Why.
    public let reason: Reason

    /// Creates an error.
    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// The error of a failed `open` or `stat`: for paths that cannot be opened (a socket),
    /// what the path is.
    init(path: String, openError code: Int32) {
        switch code {
        case ENOENT, ENOTDIR: self.init(path: path, reason: .missing)
        case EACCES, EPERM: self.init(path: path, reason: .permissionDenied)
        default:
            var info = stat()
            if stat(path, &info) == 0, Kind(mode: info.st_mode) != .regular {
                self.init(path: path, reason: .notRegular(Kind(mode: info.st_mode)))
            } else {
                self.init(path: path, reason: .system(code))
            }
        }
    }

    /// What is wrong, without the path: `no such file`, `a directory, not a regular file`.
    public var problem: String {
        switch reason {
        case .missing: "no such file"
        case .permissionDenied: "permission denied"
        case .notRegular(.other): "not a regular file"
        case .notRegular(let kind): "\(kind.rawValue), not a regular file"
        case .tooLarge(let bytes): "larger than \(YAMLValue.describeBytes(bytes))"
        case .tooSlow(let limit): "still not read after \(limit)"
        case .notText: "not UTF-8 text"
        case .system(let code): String(cString: strerror(code))
        }
    }

    /// The message for the file itself: `cannot read: no such file`, or `not UTF-8 text`.
    public var message: String {
        reason == .notText ? problem : "cannot read: \(problem)"
    }

    /// The same as a ``KeyPathError`` of the file: `path: cannot read: no such file`.
    public var keyPathError: KeyPathError {
        KeyPathError(file: path, keyPath: "", message: message)
    }

    /// `path: cannot read: no such file`.
    public var description: String { keyPathError.description }
}

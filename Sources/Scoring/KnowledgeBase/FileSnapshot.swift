#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file's bytes together with the identity of the inode they were read from.
///
/// Content and signature come from the same open descriptor (`fstat` on it), so they always
/// belong together even while a ConfigMap update swaps the `..data` symlink underneath.
struct FileSnapshot: Sendable {
    /// What identifies one version of a file without reading it: a ConfigMap update or an
    /// atomic save yields a new inode, an in-place edit a new size or modification time.
    struct Signature: Sendable, Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
    }

    let path: String
    let signature: Signature
    let content: [UInt8]

    /// The signature of whatever `path` resolves to now (symlinks followed).
    static func signature(path: String) throws(KnowledgeBaseError) -> Signature {
        var info = stat()
        guard stat(path, &info) == 0 else { throw systemError(path: path, action: "cannot read") }
        return Signature(info)
    }

    /// Reads the whole file that `path` resolves to.
    static func read(path: String) throws(KnowledgeBaseError) -> FileSnapshot {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw systemError(path: path, action: "cannot read") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw systemError(path: path, action: "cannot read") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw KnowledgeBaseError(file: path, keyPath: "", problem: "not a regular file")
        }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError(path: path, action: "cannot read")
            }
            if count == 0 { break }
            content.append(contentsOf: chunk[0..<count])
        }
        return FileSnapshot(path: path, signature: Signature(info), content: content)
    }

    private static func systemError(path: String, action: String) -> KnowledgeBaseError {
        let reason = String(cString: strerror(errno))
        return KnowledgeBaseError(file: path, keyPath: "", problem: "\(action) (\(reason))")
    }
}

/// The C `read`, under a name that `FileSnapshot.read(path:)` does not shadow.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

extension FileSnapshot.Signature {
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

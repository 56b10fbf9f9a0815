import Foundation
import TestSupport
import Testing
import UserInput

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Files from user-given paths")
struct UserFileTests {
    @Test("a regular file is read with its identity; a changed file has another")
    func regular() throws {
        let scratch = try TemporaryDirectory()
        let path = try scratch.write("hello\n", to: "a.yaml")
        let file = try UserFile(path: path)
        #expect(try file.text() == "hello\n")
        #expect(file.identity == (try UserFile.identity(of: path)))
        try scratch.write("hello again\n", to: "a.yaml")
        #expect(file.identity != (try UserFile.identity(of: path)))
    }

    @Test("a missing file, a folder, a FIFO, a device, a socket: one line saying what the path is, at once")
    func specialFiles() throws {
        let scratch = try TemporaryDirectory()
        let fifo = scratch.path("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let socketPath = scratch.path("socket")
        let socketDescriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketDescriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in socketPath.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        let cases: [(String, String)] = [
            (scratch.path("absent.yaml"), "cannot read: no such file"),
            (scratch.path("absent/x.yaml"), "cannot read: no such file"),
            (scratch.path, "cannot read: a directory, not a regular file"),
            // Without O_NONBLOCK, open() of a FIFO waits for a writer: this test would hang.
            (fifo, "cannot read: a FIFO (named pipe), not a regular file"),
            ("/dev/zero", "cannot read: a character device, not a regular file"),
            ("/dev/null", "cannot read: a character device, not a regular file"),
            (socketPath, "cannot read: a socket, not a regular file"),
        ]
        for (path, message) in cases {
            let error = #expect(throws: UserFileError.self) { _ = try UserFile(path: path) }
            #expect(error?.description == "\(path): \(message)")
        }
    }

    @Test("no permission, too large and not text are said so")
    func refusals() throws {
        let scratch = try TemporaryDirectory()
        let large = scratch.path("large")
        try Data(repeating: 0x61, count: 2048).write(to: URL(fileURLWithPath: large))
        #expect(throws: UserFileError(path: large, reason: .tooLarge(1024))) {
            _ = try UserFile(path: large, maxBytes: 1024)
        }
        #expect(try UserFile(path: large, maxBytes: 2048).bytes.count == 2048)
        #expect(
            UserFileError(path: large, reason: .tooLarge(1024)).description == "\(large): cannot read: larger than 1KiB"
        )
        let binary = scratch.path("binary")
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: binary))
        let notText = #expect(throws: UserFileError.self) { _ = try UserFile(path: binary).text() }
        #expect(notText?.description == "\(binary): not UTF-8 text")
        let secret = try scratch.write("pw", to: "secret")
        chmod(secret, 0)
        if getuid() != 0 {  // root reads any file
            #expect(throws: UserFileError(path: secret, reason: .permissionDenied)) { _ = try UserFile(path: secret) }
        }
    }

    @Test("a symlink is followed to its file; a dangling one is missing")
    func symlinks() throws {
        let scratch = try TemporaryDirectory()
        let target = try scratch.write("x", to: "target")
        let link = scratch.path("link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(try UserFile(path: link).text() == "x")
        try FileManager.default.removeItem(atPath: target)
        #expect(throws: UserFileError(path: link, reason: .missing)) { _ = try UserFile(path: link) }
    }
}

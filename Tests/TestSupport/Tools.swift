import Foundation

/// External tools the tests run. A missing tool fails the test with the command that
/// installs it, never skips it silently.
public enum Tools {
    /// The first of `names` found on `PATH` or in the usual install folders (pip installs
    /// into `~/.local/bin`).
    public static func find(_ names: String...) -> String? {
        var folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        folders += ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin", NSHomeDirectory() + "/.local/bin"]
        for name in names {
            for folder in folders where !folder.isEmpty {
                let path = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }

    /// Where tests keep files for people to look at: `$TEST_ARTIFACTS`, else `test-artifacts/`
    /// in the package root (ignored by git).
    public static func artifactsFolder() throws -> URL {
        let folder =
            ProcessInfo.processInfo.environment["TEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? TestPaths.packageRoot.appendingPathComponent("test-artifacts")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

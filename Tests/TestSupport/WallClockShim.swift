import Foundation

/// A child process's wall clock moved at will, as an NTP step moves it: `wallclock_shim.c`,
/// built here with `cc` and loaded with `LD_PRELOAD`, adds the offset written to a file to
/// `CLOCK_REALTIME`; the monotonic clocks keep running as they do.
public final class WallClockShim: Sendable {
    /// The built library.
    public let library: String
    /// The file the offset is read from (seconds, a decimal number).
    public let offsetFile: String

    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "wallclock_shim.c"
    ).path

    /// Builds the shim into `folder`, the offset at 0.
    public init(folder: String) async throws {
        guard let compiler = Tools.find("cc", "gcc", "clang") else {
            throw TestSupportError("no C compiler (cc) to build the wall-clock shim")
        }
        library = folder + "/wallclock_shim.so"
        offsetFile = folder + "/wallclock_offset"
        try "0\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
        let result = try await runProcess(compiler, ["-shared", "-fPIC", "-O2", "-o", library, Self.source, "-ldl"])
        guard result.status == 0 else { throw TestSupportError("cc: \(result.stderr)") }
    }

    /// The environment of a child whose wall clock follows the shim.
    public var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = library
        environment["WALLCLOCK_OFFSET_FILE"] = offsetFile
        return environment
    }

    /// Moves the child's wall clock to `seconds` away from the real one (0: the real time).
    public func set(offsetSeconds seconds: Double) throws {
        try "\(seconds)\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
    }
}

import Foundation

/// The real device payloads at `../shared/fixtures/shelly`, read in place (public data, never
/// copied into the repository).
public enum ShellyFixtures {
    /// The folder.
    public static let folder = TestPaths.shellyFixtures

    /// Whether the folder is there.
    public static var available: Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("SOURCES.md").path)
    }

    /// The condition of `.enabled(if:)` for tests that read the payloads: true when they are
    /// there; when they are absent, false (the test is skipped) unless `CI=true`.
    public static var testsEnabled: Bool { available || TestPaths.sharedRequired }

    /// Every JSON payload in the folder (none when it is absent: for test arguments).
    public static func allNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    /// Every JSON payload in the folder, or an error when there is none: a test that loops
    /// over them must not pass on an empty folder.
    public static func names() throws -> [String] {
        let names = allNames()
        guard !names.isEmpty else {
            throw TestSupportError("\(folder.path) is missing or holds no payload: the public data at ../shared is not there")
        }
        return names
    }

    /// A payload's bytes.
    public static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: TestPaths.existing(folder.appendingPathComponent(name)))))
    }
}

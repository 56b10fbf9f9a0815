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

    /// Every JSON payload in the folder.
    public static func allNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    /// A payload's bytes.
    public static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }
}

import Foundation

/// The real device payloads at `../shared/fixtures/shelly`, read in place (public data, never
/// copied into the repository).
enum ShellyFixtures {
    /// Tests/ShellyPollerTests/ShellyFixtures.swift -> ../../../shared/fixtures/shelly
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/shelly")

    static var available: Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("SOURCES.md").path)
    }


    /// Every JSON payload in the folder.
    static func allNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }
}

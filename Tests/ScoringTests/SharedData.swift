import Foundation

/// The public data every checkout has at `../shared` (next to the repository), read in place
/// and never copied into the repository.
enum SharedData {
    /// `../shared`, found from this file: Tests/ScoringTests/SharedData.swift -> ../../../shared.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ScoringTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared")

    static let thesis = root.appendingPathComponent("thesis")
    static let kubernetesFixtures = root.appendingPathComponent("fixtures/kubernetes")

    static var thesisAvailable: Bool {
        FileManager.default.fileExists(atPath: thesis.appendingPathComponent("thesis_simulation_data.csv").path)
            && FileManager.default.fileExists(atPath: thesis.appendingPathComponent("knowledge-base.yaml").path)
    }

    static var kubernetesFixturesAvailable: Bool {
        FileManager.default.fileExists(atPath: kubernetesFixtures.appendingPathComponent("SOURCES.md").path)
    }

    static var thesisKnowledgeBasePath: String { thesis.appendingPathComponent("knowledge-base.yaml").path }

    static func kubernetesFixture(_ name: String) throws -> Data {
        try Data(contentsOf: kubernetesFixtures.appendingPathComponent(name))
    }
}

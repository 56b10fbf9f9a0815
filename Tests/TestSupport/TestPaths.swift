import Foundation

/// Where things are for the tests: the package, the built binary, and the public data every
/// checkout has at `../shared` (read in place, never copied into the repository; tests that
/// need it skip with a clear message when it is absent, and fail under `CI=true`).
public enum TestPaths {
    /// The package root, found from this file: Tests/TestSupport/TestPaths.swift.
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root

    /// The `energy-monitor` binary built next to the test bundle (else `.build/debug`).
    public static let binary: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("energy-monitor").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return packageRoot.appendingPathComponent(".build/debug/energy-monitor").path
    }()

    /// Whether the binary is built.
    public static var binaryAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// Fails the test (never skips it) when the binary is not built.
    public static func requireBinary() throws {
        guard binaryAvailable else { throw TestSupportError("\(binary) is missing: run `swift build` before the tests") }
    }

    /// The repository's knowledge-base ConfigMap manifest (real node names, thesis figures).
    public static let knowledgeBaseManifest = packageRoot.appendingPathComponent("k8s/scheduler/knowledge-base.yaml").path

    /// `../shared`.
    public static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    /// `../shared/thesis`: knowledge base, measured results, 284 scoring decisions.
    public static let thesis = shared.appendingPathComponent("thesis")
    /// `../shared/fixtures/kubernetes`: Kubernetes and scheduler-extender payloads.
    public static let kubernetesFixtures = shared.appendingPathComponent("fixtures/kubernetes")
    /// `../shared/fixtures/shelly`: real Shelly device payloads.
    public static let shellyFixtures = shared.appendingPathComponent("fixtures/shelly")

    /// Whether the thesis data is there.
    public static var thesisAvailable: Bool {
        FileManager.default.fileExists(atPath: thesis.appendingPathComponent("thesis_simulation_data.csv").path)
            && FileManager.default.fileExists(atPath: thesis.appendingPathComponent("knowledge-base.yaml").path)
    }

    /// Whether the Kubernetes fixtures are there.
    public static var kubernetesFixturesAvailable: Bool {
        FileManager.default.fileExists(atPath: kubernetesFixtures.appendingPathComponent("SOURCES.md").path)
    }

    /// The thesis knowledge base (`../shared/thesis/knowledge-base.yaml`).
    public static var thesisKnowledgeBasePath: String { thesis.appendingPathComponent("knowledge-base.yaml").path }

    /// A Kubernetes fixture's bytes.
    public static func kubernetesFixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: existing(kubernetesFixtures.appendingPathComponent(name))))
    }

    /// A Kubernetes fixture's text.
    public static func kubernetesFixtureText(_ name: String) throws -> String {
        try String(contentsOfFile: existing(kubernetesFixtures.appendingPathComponent(name)), encoding: .utf8)
    }
}

extension TestPaths {
    /// Whether this run must find `../shared`: under `CI=true` it is always there, so a test
    /// that reads it runs even when it is missing and fails on the missing file instead of
    /// being skipped.
    public static var sharedRequired: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The condition of `.enabled(if:)` for tests that read `../shared/thesis`: true when the
    /// data is there; when it is absent, false (the test is skipped) unless `CI=true`.
    public static var thesisTestsEnabled: Bool { thesisAvailable || sharedRequired }

    /// The condition of `.enabled(if:)` for tests that read `../shared/fixtures/kubernetes`:
    /// true when the fixtures are there; when they are absent, false unless `CI=true`.
    public static var kubernetesFixtureTestsEnabled: Bool { kubernetesFixturesAvailable || sharedRequired }

    /// The path of `name` under `../shared/thesis`, or an error naming it when it is missing.
    public static func thesisFile(_ name: String) throws -> String {
        try Self.existing(thesis.appendingPathComponent(name))
    }

    /// `url`'s path when the file exists, else an error that names it and `../shared`.
    static func existing(_ url: URL) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestSupportError("\(url.path) is missing: the public data at ../shared is not there")
        }
        return url.path
    }
}

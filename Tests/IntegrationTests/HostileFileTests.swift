import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Files that attack their reader: alias bombs and special files (a folder, a FIFO, a device)
/// where the commands expect a configuration, a password, a knowledge base, a workflow or a
/// kubeconfig. Each is refused with one line and a non-zero exit, at once: a FIFO used to block
/// `open()` until the test's time limit, a ten-way alias bomb nine levels deep to take minutes.
@Suite(
    "Hostile files",
    .enabled(
        if: TestPaths.binaryAvailable,
        "build the tool first (swift build --product energy-monitor): .build/debug/energy-monitor is absent")
)
struct HostileFileTests {
    /// Runs the binary; bounded well below what a bomb of depth 9 took to load (15 minutes).
    static func refusal(_ arguments: [String]) async throws -> (status: Int32, lines: [String]) {
        let result = try await runBinary(arguments, timeout: .seconds(60))
        return (result.status, result.stderr.split(separator: "\n").map(String.init))
    }

    static func expectRefused(_ arguments: [String], saying expected: String, _ label: String) async throws {
        let result = try await refusal(arguments)
        #expect(result.status != 0, "\(label): accepted")
        #expect(result.lines.count == 1, "\(label): \(result.lines)")
        #expect(result.lines.first?.contains(expected) == true, "\(label): \(result.lines)")
    }

    static let plugs = "plugs:\n  - {node: a, address: 127.0.0.1}\n"

    static func score(knowledgeBase: String) -> [String] {
        ["score", "--knowledge-base", knowledgeBase, "--profile", "training", "--weight", "0.5", "--watts", "tvpc=50"]
    }

    static func workflowRun(_ workflow: String, database: String) -> [String] {
        [
            "workflow", "run", "--workflow", workflow, "--output", database + ".csv", "--database", database,
            "--scheduler", "energy",
            "--weight", "0.5",
        ]
    }

    @Test(
        "alias bombs in a configuration, a knowledge base, a workflow and a kubeconfig: refused while reading, as keys and as values",
        arguments: [7, 9]
    )
    func aliasBombs(depth: Int) async throws {
        let scratch = try TemporaryDirectory()
        let alias = AliasBomb.alias(depth: depth)
        let anchors = AliasBomb.anchors(depth: depth)
        let database = scratch.path("energy.db")
        let documents: [(name: String, text: String, arguments: (String) -> [String])] = [
            ("config, key", AliasBomb.asKey(depth: depth) + Self.plugs, { ["run", "--config", $0] }),
            ("config, value", anchors + "plugs:\n  - {node: a, address: \(alias)}\n", { ["run", "--config", $0] }),
            ("knowledge base, key", AliasBomb.asKey(depth: depth), { Self.score(knowledgeBase: $0) }),
            ("knowledge base, value", anchors + "training: \(alias)\n", { Self.score(knowledgeBase: $0) }),
            ("workflow, key", AliasBomb.asKey(depth: depth), { Self.workflowRun($0, database: database) }),
            (
                "workflow, value",
                "anchors:\n" + AliasBomb.anchors(depth: depth, indent: "  ")
                    + "name: w\nvolumes: [{name: v, x: \(alias)}]\nphases: []\n",
                { Self.workflowRun($0, database: database) }
            ),
            (
                "kubeconfig, key", AliasBomb.asKey(depth: depth),
                {
                    [
                        "score", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--profile", "training",
                        "--weight", "0.5", "--from-cluster", "--kubeconfig", $0,
                    ]
                }
            ),
            (
                "kubeconfig, value", anchors + "current-context: \(alias)\n",
                {
                    [
                        "score", "--knowledge-base", TestPaths.knowledgeBaseManifest, "--profile", "training",
                        "--weight", "0.5", "--from-cluster", "--kubeconfig", $0,
                    ]
                }
            ),
        ]
        for (index, document) in documents.enumerated() {
            let path = try scratch.write(document.text, to: "bomb-\(index).yaml")
            try await Self.expectRefused(
                document.arguments(path), saying: "refused as an alias bomb", "\(document.name), depth \(depth)")
        }
    }

    @Test(
        "a folder, a FIFO, a device, a missing file, an unreadable file: as run --config and as a password file, one line each"
    )
    func specialConfigurationFiles() async throws {
        let scratch = try TemporaryDirectory()
        let fifo = scratch.path("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let locked = try scratch.write(Self.plugs, to: "locked.yaml")
        chmod(locked, 0)
        var cases: [(path: String, problem: String)] = [
            (scratch.path, "a directory, not a regular file"),
            (fifo, "a FIFO (named pipe), not a regular file"),
            ("/dev/zero", "a character device, not a regular file"),
            (scratch.path("absent.yaml"), "no such file"),
        ]
        if getuid() != 0 { cases.append((locked, "permission denied")) }  // root reads any file
        for (path, problem) in cases {
            try await Self.expectRefused(
                ["run", "--config", path], saying: "\(path): cannot read: \(problem)", "config \(path)")
            let config = try scratch.write(
                "plugs:\n  - node: a\n    address: 127.0.0.1\n    passwordFile: \(YAMLText.quoted(path))\n",
                to: "with-secret.yaml")
            try await Self.expectRefused(
                ["run", "--config", config], saying: "plugs[0].passwordFile: cannot read \(path): \(problem)",
                "password \(path)")
        }
    }

    @Test("a folder, a FIFO, a device, a missing file as score --knowledge-base and workflow run --workflow")
    func specialKnowledgeBaseAndWorkflowFiles() async throws {
        let scratch = try TemporaryDirectory()
        let fifo = scratch.path("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let cases: [(path: String, problem: String)] = [
            (scratch.path, "a directory, not a regular file"),
            (fifo, "a FIFO (named pipe), not a regular file"),
            ("/dev/zero", "a character device, not a regular file"),
            (scratch.path("absent.yaml"), "no such file"),
        ]
        for (path, problem) in cases {
            try await Self.expectRefused(
                Self.score(knowledgeBase: path), saying: "--knowledge-base: \(path): cannot read: \(problem)",
                "knowledge base \(path)")
            try await Self.expectRefused(
                Self.workflowRun(path, database: scratch.path("energy.db")), saying: "\(path): cannot read: \(problem)",
                "workflow \(path)")
        }
    }
}

/// A double-quoted YAML string for the tests' own documents.
enum YAMLText {
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

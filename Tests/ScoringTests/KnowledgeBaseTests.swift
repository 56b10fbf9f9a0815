import Foundation
import Testing
import TestSupport

@testable import Scoring

@Suite("KnowledgeBase loading and validation")
struct KnowledgeBaseTests {
    static let bare = """
        training:
          - nodeName: "tvpc-cpu"
            performanceRate: 68.39
            powerConsumptionWatts: 136.89
            idlePowerWatts: 50.06
          - nodeName: dgoh-wyze-cpu
            performanceRate: 17.44
            powerConsumptionWatts: 12.76
            idlePowerWatts: 2.75
        inference:
          - nodeName: rpi-cpu
            performanceRate: 22.11
            powerConsumptionWatts: "2.93"
            idlePowerWatts: 2
        """

    /// The bare document wrapped in a ConfigMap manifest, as kept in git and applied with kubectl.
    static var manifest: String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: scheduler-knowledge-base
          namespace: kube-system
        data:
          profiles.yaml: |
        \(bare.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
    }

    @Test("a bare profiles.yaml loads in document order")
    func bareShape() throws {
        let knowledgeBase = try KnowledgeBase(yaml: Self.bare)
        #expect(knowledgeBase.profileNames == ["training", "inference"])
        let training = try knowledgeBase.profile(named: "training")
        #expect(
            training.entries == [
                ProfileEntry(
                    nodeName: "tvpc-cpu", performanceRate: 68.39, powerConsumptionWatts: 136.89, idlePowerWatts: 50.06),
                ProfileEntry(
                    nodeName: "dgoh-wyze-cpu", performanceRate: 17.44, powerConsumptionWatts: 12.76,
                    idlePowerWatts: 2.75),
            ])
        // Quoted numbers and integers are numbers too.
        #expect(try knowledgeBase.profile(named: "inference").entries[0].powerConsumptionWatts == 2.93)
        #expect(try knowledgeBase.profile(named: "inference").entries[0].idlePowerWatts == 2)
    }

    @Test("a ConfigMap manifest loads the same profiles as its embedded document")
    func manifestShape() throws {
        #expect(try KnowledgeBase(yaml: Self.manifest) == KnowledgeBase(yaml: Self.bare))
    }

    @Test(
        "the thesis knowledge base loads",
        .enabled(if: TestPaths.thesisTestsEnabled, "../shared/thesis is absent")
    )
    func thesisFile() throws {
        let knowledgeBase = try KnowledgeBase(contentsOfFile: TestPaths.thesisKnowledgeBasePath)
        #expect(knowledgeBase.profileNames == ["training", "inference", "sequential"])
        for profile in knowledgeBase.profiles {
            #expect(profile.entries.map(\.nodeName) == ["tvpc-cpu", "dgoh-wyze-cpu", "rpi-cpu", "tvpc-gpu"])
        }
        #expect(try knowledgeBase.profile(named: "sequential").entries[3].idlePowerWatts == 52.00)
    }

    /// A valid two-entry profile with one line replaced, to provoke exactly one error.
    static func training(replacing field: String, with line: String) -> String {
        let lines = [
            "training:",
            "  - nodeName: a-cpu",
            "    performanceRate: 1",
            "    powerConsumptionWatts: 10",
            "    idlePowerWatts: 2",
            "  - nodeName: b-cpu",
            "    performanceRate: 2",
            "    powerConsumptionWatts: 20",
            "    idlePowerWatts: 3",
        ]
        // Replace the field in the second entry (index 1).
        let index = lines.lastIndex {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(field):") || $0.hasPrefix("  - \(field):")
        }!
        var copy = lines
        if line.isEmpty { copy.remove(at: index) } else { copy[index] = line }
        return copy.joined(separator: "\n")
    }

    @Test(
        "each validation error names its path in one line",
        arguments: [
            (
                training(replacing: "performanceRate", with: "    performanceRate: -1"),
                "training[1].performanceRate: negative (-1.0)"
            ),
            (training(replacing: "idlePowerWatts", with: ""), "training[1].idlePowerWatts: missing"),
            (training(replacing: "idlePowerWatts", with: "    idlePowerWatts:"), "training[1].idlePowerWatts: missing"),
            (
                training(replacing: "powerConsumptionWatts", with: "    powerConsumptionWatts: lots"),
                "training[1].powerConsumptionWatts: must be a number, not \"lots\""
            ),
            (
                training(replacing: "powerConsumptionWatts", with: "    powerConsumptionWatts: .nan"),
                "training[1].powerConsumptionWatts: must be a number, not \".nan\""
            ),
            (
                training(replacing: "powerConsumptionWatts", with: "    powerConsumptionWatts: [1]"),
                "training[1].powerConsumptionWatts: must be a single value, not a list"
            ),
            (
                training(replacing: "performanceRate", with: "    performancerate: 2"),
                "training[1].performancerate: unknown key (known: nodeName, performanceRate, powerConsumptionWatts, idlePowerWatts)"
            ),
            (
                training(replacing: "nodeName", with: "  - nodeName: a-cpu"),
                "training[1].nodeName: duplicate of training[0] (\"a-cpu\")"
            ),
            (training(replacing: "nodeName", with: "  - nodeName: \"\""), "training[1].nodeName: empty"),
            (
                training(replacing: "nodeName", with: "  - nodeName: {x: 1}"),
                "training[1].nodeName: must be a single value, not a mapping"
            ),
            ("training: []", "training: empty profile list"),
            ("training:", "training: empty profile list"),
            ("training: 5", "training: must be a list of entries, not \"5\""),
            ("training:\n  - 5", "training[0]: must be a mapping, not \"5\""),
            ("{}", "no profiles"),
            ("- a\n- b", "must be a mapping of profile names to entry lists, not a list"),
            ("", "empty document"),
            ("kind: Deployment", "kind: expected ConfigMap, found \"Deployment\""),
            ("kind: ConfigMap\nmetadata: {name: x}", "data: missing"),
            ("kind: ConfigMap\ndata:\n  other.yaml: x", "data.\"profiles.yaml\": missing"),
            ("kind: ConfigMap\ndata:\n  profiles.yaml: |\n    training: []", "training: empty profile list"),
        ]
    )
    func validationErrors(yaml: String, expected: String) {
        #expect {
            _ = try KnowledgeBase(yaml: yaml)
        } throws: { error in
            (error as? KnowledgeBaseError)?.description == expected
        }
    }

    @Test("YAML syntax errors are reported in one line with their position")
    func syntaxError() throws {
        let error = try #require(throws: KnowledgeBaseError.self) {
            try KnowledgeBase(yaml: "training:\n  - nodeName: a\n   bad: [")
        }
        #expect(
            error.description
                == "not valid YAML (line 3, column 4: did not find expected '-' indicator, "
                + "while parsing a block collection at line 2, column 3)"
        )
        let embedded = try #require(throws: KnowledgeBaseError.self) {
            try KnowledgeBase(yaml: "kind: ConfigMap\ndata:\n  profiles.yaml: \"training: [\"")
        }
        #expect(embedded.description.hasPrefix("data.\"profiles.yaml\": not valid YAML ("))
    }

    @Test("asking for an unknown profile lists the known ones")
    func unknownProfile() throws {
        let knowledgeBase = try KnowledgeBase(yaml: Self.bare)
        #expect(
            throws: KnowledgeBaseError(keyPath: "sequential", message: "unknown profile (known: inference, training)")
        ) {
            try knowledgeBase.profile(named: "sequential")
        }
    }

    @Test("profiles built in code get the same validation")
    func programmaticValidation() {
        let entry = ProfileEntry(
            nodeName: "x-cpu", performanceRate: .infinity, powerConsumptionWatts: 1, idlePowerWatts: 0)
        #expect(throws: KnowledgeBaseError(file: nil, keyPath: "p[0].performanceRate", message: "not a finite number (inf)")) {
            _ = try KnowledgeBase(profiles: [Profile(name: "p", entries: [entry])])
        }
        #expect(throws: KnowledgeBaseError(file: nil, keyPath: "p", message: "duplicate profile")) {
            let ok = Profile(
                name: "p",
                entries: [ProfileEntry(nodeName: "x", performanceRate: 1, powerConsumptionWatts: 1, idlePowerWatts: 0)])
            _ = try KnowledgeBase(profiles: [ok, ok])
        }
    }

    @Test("file errors name the file")
    func fileErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("absent.yaml").path
        #expect(
            throws: KnowledgeBaseError(file: missing, keyPath: "", message: "cannot read: no such file")
        ) {
            _ = try KnowledgeBase(contentsOfFile: missing)
        }
        let broken = directory.appendingPathComponent("broken.yaml")
        try Data(
            "training:\n  - nodeName: a\n    performanceRate: -2\n    powerConsumptionWatts: 1\n    idlePowerWatts: 1\n"
                .utf8
        )
        .write(to: broken)
        #expect(
            throws: KnowledgeBaseError(
                file: broken.path, keyPath: "training[0].performanceRate", message: "negative (-2.0)")
        ) {
            _ = try KnowledgeBase(contentsOfFile: broken.path)
        }
        let binary = directory.appendingPathComponent("binary.yaml")
        try Data([0xFF, 0xFE, 0x00]).write(to: binary)
        #expect(throws: KnowledgeBaseError(file: binary.path, keyPath: "", message: "not UTF-8 text")) {
            _ = try KnowledgeBase(contentsOfFile: binary.path)
        }
        #expect(throws: KnowledgeBaseError(file: directory.path, keyPath: "", message: "cannot read: a directory, not a regular file")) {
            _ = try KnowledgeBase(contentsOfFile: directory.path)
        }
        let good = directory.appendingPathComponent("good.yaml")
        try Data(Self.manifest.utf8).write(to: good)
        #expect(try KnowledgeBase(contentsOfFile: good.path).profileNames == ["training", "inference"])
    }
}

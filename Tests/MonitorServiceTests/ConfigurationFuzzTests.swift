import Foundation
import TestSupport
import Testing

@testable import MonitorService

/// Seeded random edits of a valid configuration: the loader either accepts the result or
/// refuses it with one line that names the key (or says the document is not YAML).
@Suite("Configuration fuzzing")
struct ConfigurationFuzzTests {
    static let valid = """
        interval: 1s
        database: energy.db
        listen: 127.0.0.1:9840
        retention: { raw: 14d, minute: 400d }
        plugs:
          - node: tvpc
            address: 127.0.0.1:8001
            generation: auto
            channel: 0
            username: admin
            passwordFile: plug-password
          - node: wyse
            address: http://127.0.0.1:8002/
            generation: 2
          - node: rpi
            address: "[::1]:8003"
            generation: 1
            channel: 1
        kubernetes:
          annotate: false
          prefix: energy.thesis.io
          heartbeat: 15s
          deadband: 1.0
        """

    /// Values that a YAML loader or our readers may stumble on.
    static let oddValues = [
        "", "~", "null", "-1", "0", "1e999", "NaN", ".inf", "99999999999999999999999", "[]", "{}", "[a, [b, {c: d}]]",
        "!!binary aGVsbG8=", "&anchor x", "*anchor", "\"a\\nb\"", "'it''s'", "|\n    block\n    text", "0.0.0.0:99999",
        "http://", "[fd00::1", "1h1h", "-5s", "10ms", "yes", "\"\\u0000\"", String(repeating: "x", count: 5_000),
        String(repeating: "[", count: 3_000), String(repeating: "{a: ", count: 3_000),
    ]

    /// The whole-document errors, which have no key to name (a key that is not a string names
    /// its line instead).
    static let documentErrors = ["not valid YAML", "expected a mapping", "cannot read"]

    static func check(_ yaml: String, folder: String, label: String) {
        do {
            let configuration = try MonitorConfiguration.parse(yaml: yaml, baseDirectory: folder)
            #expect(!configuration.plugs.isEmpty, "\(label): accepted without plugs")
        } catch {
            let line = error.description
            #expect(!line.isEmpty && !line.contains("\n") && !line.contains("\r"), "\(label): \(line.debugDescription)")
            #expect(line.count <= 620, "\(label): \(line.count) characters")
            #expect(
                !error.path.isEmpty || documentErrors.contains { error.message.hasPrefix($0) } || error.message.contains("(line "),
                "\(label): no key path in \(line.debugDescription)"
            )
        }
    }

    static func mutate(_ text: String, using rng: inout SeededGenerator) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let index = Int.random(in: 0..<lines.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:
                lines.remove(at: index)
                if lines.isEmpty { lines = [""] }
            case 1:
                lines.insert(lines[index], at: index)
            case 2:
                lines[index] = String(repeating: " ", count: Int.random(in: 0...6, using: &rng))
                    + lines[index].trimmingCharacters(in: .whitespaces)
            case 3:
                // Replace the value after the colon.
                if let colon = lines[index].firstIndex(of: ":") {
                    lines[index] = String(lines[index][...colon]) + " " + oddValues.randomElement(using: &rng)!
                }
            case 4:
                let keys = ["unknown", "plugs", "node", "interval", "address", "retention", "kubernetes", "channel", "- node"]
                lines.insert("  " + keys.randomElement(using: &rng)! + ": " + oddValues.randomElement(using: &rng)!, at: index)
            default:
                var scalars = Array(lines[index].unicodeScalars)
                let position = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &rng)
                let characters: [Unicode.Scalar] = Array("{}[]:,-#&*!|>'\"\t \\%@`?\u{0}\u{FEFF}é".unicodeScalars)
                if !scalars.isEmpty, Bool.random(using: &rng) { scalars.remove(at: position) }
                scalars.insert(characters.randomElement(using: &rng)!, at: position)
                lines[index] = String(String.UnicodeScalarView(scalars))
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test("800 mutations of a valid configuration", .timeLimit(.minutes(5)))
    func mutatedConfigurations() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "pa55\n".write(toFile: folder + "/plug-password", atomically: true, encoding: .utf8)
        // The base document is valid: the mutations start from an accepted configuration.
        #expect(throws: Never.self) { try MonitorConfiguration.parse(yaml: Self.valid, baseDirectory: folder) }
        var rng = SeededGenerator(seed: 0xC0FF_1605)
        for round in 0..<800 {
            Self.check(Self.mutate(Self.valid, using: &rng), folder: folder, label: "mutation \(round)")
            // CPU-bound: leave the cooperative pool to timing-sensitive tests now and then.
            if round % 10 == 0 { await Task.yield() }
        }
        for value in Self.oddValues {
            Self.check("plugs:\n  - node: a\n    address: \(value)\n", folder: folder, label: "address \(value.prefix(20))")
            Self.check("interval: \(value)\nplugs:\n  - node: a\n    address: 127.0.0.1\n", folder: folder, label: "interval \(value.prefix(20))")
            Self.check(value, folder: folder, label: "document \(value.prefix(20))")
        }
        for round in 0..<150 {
            let count = Int.random(in: 0...300, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            Self.check(String(decoding: bytes, as: UTF8.self), folder: folder, label: "random \(round)")
        }
    }
}

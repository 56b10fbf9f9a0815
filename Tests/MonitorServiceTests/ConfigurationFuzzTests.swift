import EnergyModel
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
    ] + ExtremeNumbers.literals + ExtremeNumbers.literals.flatMap { ["\($0)s", "\($0)ms", "\($0)d", "127.0.0.1:\($0)"] }

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
                !error.keyPath.isEmpty || documentErrors.contains { error.message.hasPrefix($0) } || error.message.contains("(line "),
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
        // Alias bombs, as keys and as values, alone and spliced into the valid document.
        for depth in [5, 7, 9] {
            for bomb in [AliasBomb.asKey(depth: depth), AliasBomb.asValue(depth: depth)] {
                Self.check(bomb, folder: folder, label: "alias bomb, depth \(depth)")
                Self.check(bomb + Self.valid, folder: folder, label: "alias bomb before the document, depth \(depth)")
            }
        }
        for round in 0..<150 {
            let count = Int.random(in: 0...300, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            Self.check(String(decoding: bytes, as: UTF8.self), folder: folder, label: "random \(round)")
        }
    }

    /// Every key that reads a number or a duration, as a one-line template.
    static let numericKeys: [(key: String, template: String)] = [
        ("interval", "interval: VALUE\nplugs: [{node: a, address: 127.0.0.1}]"),
        ("retention.raw", "retention: {raw: VALUE}\nplugs: [{node: a, address: 127.0.0.1}]"),
        ("retention.minute", "retention: {minute: VALUE}\nplugs: [{node: a, address: 127.0.0.1}]"),
        ("kubernetes.heartbeat", "kubernetes: {heartbeat: VALUE}\nplugs: [{node: a, address: 127.0.0.1}]"),
        ("kubernetes.deadband", "kubernetes: {deadband: VALUE}\nplugs: [{node: a, address: 127.0.0.1}]"),
        ("plugs[0].channel", "plugs: [{node: a, address: 127.0.0.1, channel: VALUE}]"),
        ("plugs[0].generation", "plugs: [{node: a, address: 127.0.0.1, generation: VALUE}]"),
        ("plugs[0].address", "plugs: [{node: a, address: \"127.0.0.1:VALUE\"}]"),
        ("listen", "listen: \"127.0.0.1:VALUE\"\nplugs: [{node: a, address: 127.0.0.1}]"),
    ]

    @Test("extreme numbers in every numeric key: refused with the key path, or a value in range", arguments: numericKeys.map(\.key))
    func extremeNumbers(key: String) throws {
        let template = try #require(Self.numericKeys.first { $0.key == key }?.template)
        for literal in ExtremeNumbers.literals {
            for value in [literal, "\(literal)s", "\(literal)ms", "\(literal)d", "\(literal)m30s"] {
                do {
                    let configuration = try MonitorConfiguration.parse(yaml: template.replacingOccurrences(of: "VALUE", with: value), baseDirectory: "/tmp")
                    // Accepted only where the number is sane for the key (e.g. deadband -0 or 1e-320 W).
                    #expect((100...3_600_000).contains(configuration.intervalMilliseconds), "\(key) = \(value)")
                    #expect(configuration.retentionRawMilliseconds > 0 && configuration.retentionMinuteMilliseconds < DurationParsing.limitMilliseconds)
                    #expect(configuration.kubernetes.deadbandWatts.isFinite && configuration.kubernetes.deadbandWatts >= 0, "\(key) = \(value)")
                } catch {
                    #expect(error.keyPath == key, "\(key) = \(value.prefix(30)): \(error.description.prefix(200))")
                    #expect(!error.description.contains("\n"))
                }
            }
        }
    }
}

import EnergyModel
import Foundation
import Store
import TestSupport
import Testing

/// `energy-monitor pins` against stores written by the store itself: the listing, clearing by
/// node and meter, and one line for every bad input.
@Suite("pins command")
struct PinsCommandTests {
    /// A store holding three pins: `tvpc` (Gen2+) and the two meters of `wyse`; one id has a line break.
    static func makeStore(_ folder: String) async throws -> String {
        let path = folder + "/energy.db"
        let store = try EnergyStore(path: path)
        try await store.savePin(
            PlugPin(
                node: "tvpc", family: .rpc, deviceID: "shellyplusplugs-aabbccddeeff", mac: "AABBCCDDEEFF",
                firstSeenMilliseconds: 1_780_000_000_000))
        try await store.savePin(
            PlugPin(
                node: "wyse", meter: "psu-a", family: .gen1, deviceID: nil, mac: "112233445566",
                firstSeenMilliseconds: 0))
        try await store.savePin(
            PlugPin(
                node: "wyse", meter: "psu-b", family: .rpc, deviceID: "evil\nline", mac: nil, firstSeenMilliseconds: 0))
        store.close()
        return path
    }

    @Test("lists every pin in aligned columns, device strings escaped")
    func listing() async throws {
        let folder = try TemporaryDirectory()
        let database = try await Self.makeStore(folder.path)
        let result = try await runBinary(["pins", "--database", database])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(result.stdout)")
        #expect(lines.first?.split(separator: " ").joined(separator: " ") == "NODE METER FAMILY AUTH ID MAC FIRST SEEN")
        #expect(
            lines.dropFirst().map { $0.split(separator: " ").map(String.init) } == [
                [
                    "tvpc", "-", "gen2+", "digest", "shellyplusplugs-aabbccddeeff", "AABBCCDDEEFF",
                    "2026-05-28T20:26:40Z",
                ],
                ["wyse", "psu-a", "gen1", "basic", "-", "112233445566", "1970-01-01T00:00:00Z"],
                ["wyse", "psu-b", "gen2+", "digest", "evil\\nline", "-", "1970-01-01T00:00:00Z"],
            ], "\(result.stdout)")
        // Every column starts where its header does.
        let header = try #require(lines.first)
        let column = try #require(header.range(of: "FAMILY")).lowerBound.utf16Offset(in: header)
        for line in lines.dropFirst() {
            #expect(line.utf16.count > column && Array(line.utf16)[column - 1] == UInt16(UInt8(ascii: " ")), "\(line)")
        }
    }

    @Test("--clear NODE removes every pin of the node; --meter only that meter's")
    func clearing() async throws {
        let folder = try TemporaryDirectory()
        let database = try await Self.makeStore(folder.path)
        let one = try await runBinary(["pins", "--database", database, "--clear", "wyse", "--meter", "psu-b"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(
            one.stdout.hasPrefix("cleared the pin of wyse/psu-b: gen2+ (digest), id evil\\nline, mac -\n"),
            "\(one.stdout)")
        let node = try await runBinary(["pins", "--database", database, "--clear", "wyse"])
        #expect(
            node.status == 0 && node.stdout.contains("cleared the pin of wyse/psu-a: gen1 (basic)"),
            "\(node.stdout) \(node.stderr)")
        let left = try await runBinary(["pins", "--database", database])
        #expect(left.stdout.split(separator: "\n").count == 2 && left.stdout.contains("tvpc"), "\(left.stdout)")
        _ = try await runBinary(["pins", "--database", database, "--clear", "tvpc"])
        let none = try await runBinary(["pins", "--database", database])
        #expect(
            none.status == 0 && none.stdout == "no plug is pinned (only plugs with a password are)\n", "\(none.stdout)")
    }

    @Test(
        "bad input is one line and a non-zero exit",
        arguments: [
            (["pins"], "Missing expected argument '--database"),
            (["pins", "--database", "DB", "--meter", "psu-a"], "--meter needs --clear NODE"),
            (["pins", "--database", "DB", "--clear", " "], "--clear: the node name is empty"),
            (
                ["pins", "--database", "DB", "--clear", "rpi"],
                "--clear: no pin for rpi (pinned: tvpc, wyse/psu-a, wyse/psu-b)"
            ),
            (["pins", "--database", "DB", "--clear", "wyse", "--meter", "psu-c"], "--clear: no pin for wyse/psu-c"),
            (["pins", "--database", "/nonexistent/energy.db"], "--database: /nonexistent/energy.db does not exist"),
            (["pins", "--database", "NOTADB"], "is not a readable SQLite database"),
        ])
    func badInput(arguments: [String], message: String) async throws {
        let folder = try TemporaryDirectory()
        let database = try await Self.makeStore(folder.path)
        let notADatabase = try folder.write("plugs: []\n", to: "config.yaml")
        let resolved = arguments.map { $0 == "DB" ? database : $0 == "NOTADB" ? notADatabase : $0 }
        let result = try await runBinary(resolved)
        let lines = result.stderr.split(separator: "\n")
        #expect(result.status != 0)
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(
            lines.first?.hasPrefix("energy-monitor: error: ") == true && lines.first?.contains(message) == true,
            "\(result.stderr)")
        // Nothing was cleared.
        let listing = try await runBinary(["pins", "--database", database])
        #expect(listing.stdout.split(separator: "\n").count == 4)
    }
}

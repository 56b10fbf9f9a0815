import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

/// The `plug_pin` table: pins round-trip by node and meter, a newer pin replaces the older,
/// clearing removes a node's pins (or one meter's), a version-3 database gains the table, and
/// rows that cannot be read back are skipped and counted.
@Suite("Plug pins in the store")
struct PlugPinStoreTests {
    static let gen2 = PlugPin(
        node: "tvpc", family: .rpc, deviceID: "shellyplusplugs-aabbccddeeff", mac: "aa:bb:cc:dd:ee:ff",
        firstSeenMilliseconds: 1_780_000_000_123)
    static let meterA = PlugPin(
        node: "wyse", meter: "psu-a", family: .gen1, deviceID: nil, mac: "112233445566", firstSeenMilliseconds: 5)
    static let meterB = PlugPin(
        node: "wyse", meter: "psu-b", family: .rpc, deviceID: "shellypmminig3-1", mac: nil, firstSeenMilliseconds: 6)

    @Test("pins round-trip, a newer pin replaces the plug's older one, and the sqlite3 shell reads them")
    func roundTrip() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let store = try EnergyStore(path: path)
        #expect(try await store.pins().isEmpty)
        for pin in [Self.gen2, Self.meterA, Self.meterB] { try await store.savePin(pin) }
        #expect(try await store.pins() == [Self.gen2, Self.meterA, Self.meterB])
        #expect(Self.gen2.mac == "AABBCCDDEEFF")
        var replaced = Self.gen2
        replaced.family = .gen1
        replaced.deviceID = nil
        try await store.savePin(replaced)
        #expect(try await store.pins() == [replaced, Self.meterA, Self.meterB])
        store.close()
        if sqlite3Available {
            let rows = try await sqlite3(
                path, "SELECT node, meter, family, auth, device_id, mac, first_seen_ms FROM plug_pin")
            #expect(
                rows.split(separator: "\n") == [
                    "tvpc||gen1|basic||AABBCCDDEEFF|1780000000123", "wyse|psu-a|gen1|basic||112233445566|5",
                    "wyse|psu-b|gen2+|digest|shellypmminig3-1||6",
                ], "\(rows)")
        }
        // Read-only, as the `pins` command opens it.
        let reader = try EnergyStore(path: path, readOnly: true)
        #expect(try await reader.pins().count == 3)
        reader.close()
    }

    @Test("clearing removes a node's pins, or one meter's")
    func clear() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path + "/energy.db")
        for pin in [Self.gen2, Self.meterA, Self.meterB] { try await store.savePin(pin) }
        #expect(try await store.clearPins(node: "wyse", meter: "psu-b") == 1)
        #expect(try await store.pins() == [Self.gen2, Self.meterA])
        #expect(try await store.clearPins(node: "nobody") == 0)
        #expect(try await store.clearPins(node: "wyse") == 1)
        #expect(try await store.clearPins(node: "tvpc") == 1)
        #expect(try await store.pins().isEmpty)
        store.close()
    }

    @Test("a version-3 database gains the table when the store opens it")
    func migration() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        try EnergyStore(path: path).close()
        do {
            let database = try SQLiteDatabase(path: path)
            try database.downgrade(to: 3)
        }
        let old = #expect(throws: StoreError.self) { try EnergyStore(path: path, readOnly: true) }
        #expect(old?.message.contains("schema version 3") == true, "\(old?.message ?? "")")
        let store = try EnergyStore(path: path)
        try await store.savePin(Self.gen2)
        #expect(try await store.pins() == [Self.gen2])
        store.close()
        let database = try SQLiteDatabase(path: path)
        #expect(try database.scalarInt("PRAGMA user_version") == Schema.currentVersion)
    }

    @Test("rows that cannot be read back are skipped, counted and logged once; the table refuses most of them outright")
    func badRows() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.path + "/energy.db"
        let log = LogRecorder()
        let store = try EnergyStore(path: path, logger: .init(label: "test") { _ in log })
        try await store.savePin(Self.gen2)
        try await store.run { () throws(StoreError) in
            // The CHECK constraints refuse an unknown family or scheme...
            #expect(throws: StoreError.self) {
                try store.database.execute(
                    "INSERT INTO plug_pin VALUES ('a', '', 'gen9', 'basic', NULL, NULL, 1)")
            }
            // ...unless they are turned off, as someone editing the file by hand may do.
            try store.database.execute(
                """
                PRAGMA ignore_check_constraints = ON;
                INSERT INTO plug_pin VALUES ('a', '', 'gen9', 'basic', NULL, NULL, 1);
                INSERT INTO plug_pin VALUES ('b', '', 'gen1', 'digest', NULL, NULL, 1);
                INSERT INTO plug_pin VALUES ('c', '', 'gen2+', 'digest', NULL, NULL, 'yesterday');
                PRAGMA ignore_check_constraints = OFF;
                """)
        }
        for _ in 0..<2 {
            #expect(try await store.pins() == [Self.gen2])
        }
        #expect(store.faults.badRows[.plugPin] == 3)
        let lines = log.entries.filter { $0.message.hasPrefix("stored row out of range") }
        #expect(lines.count == 3, "\(lines.map(\.metadata))")
        #expect(Set(lines.compactMap { $0.metadata["node"] }) == ["a", "b", "c"])
        store.close()
    }
}

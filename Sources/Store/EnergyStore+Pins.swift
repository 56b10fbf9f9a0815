import EnergyModel

extension EnergyStore {
    /// Every stored pin, by node and meter. A row that cannot be read back (a family or auth
    /// scheme this build does not know, the two disagreeing, a time that is not an integer) is
    /// skipped, counted and logged once: that plug is detected afresh and pinned again.
    public func pins() async throws(StoreError) -> [PlugPin] {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [PlugPin] in
            let rows = try reader.prepare(
                "SELECT node, meter, family, auth, device_id, mac, first_seen_ms FROM plug_pin ORDER BY node, meter")
            var pins: [PlugPin] = []
            while try rows.step() {
                let node = rows.text(0)
                let meter = rows.text(1)
                do throws(StoredRowDefect) {
                    pins.append(try Self.pin(rows))
                } catch {
                    reader.faults?.badRow(
                        .plugPin, key: "\(node)/\(meter)", node: node, startMilliseconds: nil, reason: error.reason,
                        action: "skipped: the plug is detected afresh and pinned again")
                }
            }
            return pins
        }
    }

    /// The pin on the current row of `pins()`' statement.
    private static func pin(_ row: Statement) throws(StoredRowDefect) -> PlugPin {
        guard let family = PlugPin.Family(rawValue: row.text(2)) else {
            throw StoredRowDefect("family is not gen1 or gen2+")
        }
        guard PlugPin.AuthScheme(rawValue: row.text(3)) == family.authScheme else {
            throw StoredRowDefect("auth is not \(family.authScheme.rawValue), as family \(family.rawValue) asks")
        }
        guard let firstSeen = row.storedInt(6) else { throw StoredRowDefect("first_seen_ms is not an integer") }
        let meter = row.text(1)
        return PlugPin(
            node: row.text(0), meter: meter.isEmpty ? nil : meter, family: family,
            deviceID: row.isNull(4) ? nil : row.text(4), mac: row.isNull(5) ? nil : row.text(5),
            firstSeenMilliseconds: firstSeen)
    }

    /// Stores `pin`, replacing the plug's previous pin.
    public func savePin(_ pin: PlugPin) async throws(StoreError) {
        try await run { () throws(StoreError) in
            let statement = try self.database.prepare(
                """
                INSERT INTO plug_pin (node, meter, family, auth, device_id, mac, first_seen_ms)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                ON CONFLICT (node, meter) DO UPDATE SET family = ?3, auth = ?4, device_id = ?5, mac = ?6,
                    first_seen_ms = ?7
                """)
            statement.bind(1, pin.node)
            statement.bind(2, pin.meter ?? "")
            statement.bind(3, pin.family.rawValue)
            statement.bind(4, pin.authScheme.rawValue)
            // NULL where the device reported none.
            for (index, text) in [(Int32(5), pin.deviceID), (6, pin.mac)] {
                if let text { statement.bind(index, text) } else { statement.bind(index, nil as Int64?) }
            }
            statement.bind(7, pin.firstSeenMilliseconds)
            try statement.step()
        }
    }

    /// Deletes the pins of `node` (only its meter `meter`, when given) and returns how many
    /// rows went. A running service notices within seconds and detects those plugs afresh.
    public func clearPins(node: String, meter: String? = nil) async throws(StoreError) -> Int {
        try await run { () throws(StoreError) -> Int in
            let statement = try self.database.prepare(
                meter == nil
                    ? "DELETE FROM plug_pin WHERE node = ?1" : "DELETE FROM plug_pin WHERE node = ?1 AND meter = ?2")
            statement.bind(1, node)
            if let meter { statement.bind(2, meter) }
            try statement.step()
            return Int(self.database.changes)
        }
    }
}

import EnergyModel

extension EnergyStore {
    /// The figures of one node over a window: measured (from raw samples and, before the fold
    /// watermark, from minute aggregates), and recorded for its gaps from the device's own
    /// figures (backfilled).
    public struct NodeEnergy: Sendable, Equatable {
        /// The node.
        public var node: String
        /// Window start, unix milliseconds.
        public var fromMilliseconds: Int64
        /// Window end (exclusive), unix milliseconds.
        public var toMilliseconds: Int64
        /// The measured figures.
        public var energy: WindowEnergy
        /// The energy recorded for the window's gaps.
        public var backfill: BackfilledEnergy

        /// Creates figures; nothing backfilled unless given.
        public init(
            node: String, fromMilliseconds: Int64, toMilliseconds: Int64, energy: WindowEnergy,
            backfill: BackfilledEnergy = BackfilledEnergy()
        ) {
            self.node = node
            self.fromMilliseconds = fromMilliseconds
            self.toMilliseconds = toMilliseconds
            self.energy = energy
            self.backfill = backfill
        }

        /// The complete figure: measured plus backfilled joules.
        public var joules: Double { energy.joules + backfill.joules }

        /// Mean power over the part of the window with energy (measured or backfilled), or nil
        /// when there is none.
        public var averageWatts: Double? {
            let covered = energy.coveredMilliseconds + backfill.coveredMilliseconds
            return covered > 0 ? joules / (Double(covered) / 1000) : nil
        }

        /// Measured share of the window, 0...100.
        public var coveragePercent: Double { share(energy.coveredMilliseconds) }

        /// Backfilled share of the window, 0...100.
        public var backfilledPercent: Double { min(share(backfill.coveredMilliseconds), 100 - coveragePercent) }

        /// The share of the window with no energy at all (neither measured nor backfilled), 0...100.
        public var missingPercent: Double { max(0, 100 - coveragePercent - backfilledPercent) }

        private func share(_ milliseconds: Int64) -> Double {
            let length = toMilliseconds - fromMilliseconds
            return length > 0 ? min(100, 100 * Double(milliseconds) / Double(length)) : 0
        }
    }

    /// Every node the store has seen, by name.
    public func nodes() async throws(StoreError) -> [String] {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [String] in
            let statement = try reader.prepare("SELECT name FROM node ORDER BY name")
            var names: [String] = []
            while try statement.step() { names.append(statement.text(0)) }
            return names
        }
    }

    /// The poll intervals a store can record: 1 ms to a day.
    static let intervals: ClosedRange<Int64> = 1...86_400_000

    /// Records the poll interval, so that readers know the largest gap to bridge.
    public func setInterval(milliseconds: Int64) async throws(StoreError) {
        try await run { () throws(StoreError) in
            try self.database.setMeta("interval_ms", milliseconds)
            self.stepMilliseconds = max(1, milliseconds)
        }
    }

    /// The poll interval the service last ran with, if recorded.
    public func interval() async throws(StoreError) -> Int64? {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> Int64? in
            try reader.meta("interval_ms", in: Self.intervals)
        }
    }

    /// Energy, average and peak power, sample count and coverage of `node` over
    /// `[from, to)`. Gaps longer than `maxGapMilliseconds` are not bridged.
    public func energy(node: String, fromMilliseconds from: Int64, toMilliseconds to: Int64, maxGapMilliseconds: Int64)
        async throws(StoreError) -> NodeEnergy
    {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> NodeEnergy in
            var result = NodeEnergy(node: node, fromMilliseconds: from, toMilliseconds: to, energy: WindowEnergy())
            guard to > from, let id = try self.readerNodeID(node, in: reader) else { return result }
            let watermark = try reader.foldedUntil() ?? Int64.min
            if from < watermark {
                result.energy.merge(try Self.minuteEnergy(reader, id, from: from, to: min(to, watermark)))
            }
            let rawFrom = max(from, watermark)
            if to > rawFrom {
                let points = try reader.points(
                    id, from: rawFrom.subtractingClamped(maxGapMilliseconds), to: to.addingClamped(maxGapMilliseconds)
                )
                result.energy.merge(
                    WindowEnergy.integrate(
                        points: points, from: rawFrom, to: to, maxGapMilliseconds: maxGapMilliseconds))
            }
            result.backfill = try Self.backfillEnergy(reader, id, from: from, to: to)
            return result
        }
    }

    /// Figures from minute aggregates; minutes cut by the window count in proportion. A row
    /// out of range is skipped and reported.
    private static func minuteEnergy(_ database: SQLiteDatabase, _ id: Int64, from: Int64, to: Int64) throws(StoreError)
        -> WindowEnergy
    {
        minuteEnergy(try minuteRows(database, id, from: from, to: to)[...], from: from, to: to)
    }

    /// The minute aggregates of node `id` that overlap `[from, to)`, oldest first. A row out of
    /// range is skipped and reported.
    static func minuteRows(_ database: SQLiteDatabase, _ id: Int64, from: Int64, to: Int64) throws(StoreError)
        -> [MinuteRow]
    {
        let statement = try database.prepare(
            "SELECT \(MinuteRow.columns) FROM minute WHERE node_id = ? AND minute >= ? AND minute < ? ORDER BY minute"
        )
        statement.bind(1, id)
        statement.bind(2, Self.floorDiv(from, 60_000))
        statement.bind(3, Self.floorDiv(to.subtractingClamped(1), 60_000) + 1)
        var rows: [MinuteRow] = []
        while try statement.step() {
            do throws(StoredRowDefect) { rows.append(try MinuteRow(statement)) } catch {
                let start = statement.int(0).multipliedReportingOverflow(by: 60_000).partialValue
                database.skipped(.minute, nodeID: id, start: start, error)
            }
        }
        return rows
    }

    /// The figures of `rows` inside `[from, to)`: minutes cut by the window count in proportion.
    static func minuteEnergy(_ rows: ArraySlice<MinuteRow>, from: Int64, to: Int64) -> WindowEnergy {
        var result = WindowEnergy()
        for row in rows {
            let start = row.startMilliseconds
            let overlap = min(start + 60_000, to) - max(start, from)
            guard overlap > 0 else { continue }
            let share = Double(overlap) / 60_000
            let samples = row.samples
            result.merge(
                WindowEnergy(
                    joules: row.joules * share,
                    coveredMilliseconds: Int64(clampingRounding: Double(row.coveredMilliseconds) * share),
                    samples: share == 1 ? samples : Int(clampingRounding: Double(samples) * share),
                    peakWatts: row.maxWatts,
                    minWatts: row.minWatts,
                    sumWatts: row.averageWatts * (share == 1 ? Double(samples) : (Double(samples) * share).rounded())
                )
            )
        }
        return result
    }

    /// `a / b` rounded toward minus infinity, for `b > 0`; defined for every `a` (`-a`
    /// would overflow for `Int64.min`).
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return a % b < 0 ? quotient - 1 : quotient
    }

    /// The start of the minute holding `time`, saturating at `Int64.min`.
    static func minuteStart(_ time: Int64) -> Int64 {
        let (start, overflow) = floorDiv(time, 60_000).multipliedReportingOverflow(by: 60_000)
        return overflow ? .min : start
    }
}

extension Int64 {
    /// `self + other`, saturating at the bounds (windows may end at `Int64.max`).
    func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, saturating at the bounds.
    func subtractingClamped(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : difference
    }
}

import EnergyModel

extension EnergyStore {
    /// The complete joules (measured plus backfilled) of `node` in each piece between
    /// consecutive `cuts` (ascending): piece `i` is `[cuts[i], cuts[i+1])`. Each piece is
    /// integrated as `energy(node:fromMilliseconds:toMilliseconds:maxGapMilliseconds:)`
    /// integrates a window, so the pieces add up to the whole window's joules; the stored
    /// rows are read once for all of them.
    public func energyPieces(node: String, cuts: [Int64], maxGapMilliseconds: Int64) async throws(StoreError)
        -> [Double]
    {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [Double] in
            guard cuts.count >= 2 else { return [] }
            var joules = [Double](repeating: 0, count: cuts.count - 1)
            let from = cuts[0]
            let to = cuts[cuts.count - 1]
            guard to > from, let id = try self.readerNodeID(node, in: reader) else { return joules }
            let watermark = try reader.foldedUntil() ?? Int64.min
            let minutes = from < watermark ? try Self.minuteRows(reader, id, from: from, to: min(to, watermark)) : []
            let rawFrom = max(from, watermark)
            let points =
                to > rawFrom
                ? try reader.points(
                    id, from: rawFrom.subtractingClamped(maxGapMilliseconds), to: to.addingClamped(maxGapMilliseconds))
                : []
            let parts = try Self.backfillRows(reader, id, from: from, to: to)
            // Cursors into the rows, moving forward with the pieces.
            var minute = 0
            var point = 0
            var part = 0
            for index in joules.indices {
                let start = cuts[index]
                let end = cuts[index + 1]
                guard end > start else { continue }
                var total = 0.0
                if start < watermark {
                    while minute < minutes.count, minutes[minute].startMilliseconds + 60_000 <= start { minute += 1 }
                    var last = minute
                    while last < minutes.count, minutes[last].startMilliseconds < end { last += 1 }
                    total += Self.minuteEnergy(minutes[minute..<last], from: start, to: min(end, watermark)).joules
                }
                let rawStart = max(start, watermark)
                if end > rawStart, !points.isEmpty {
                    // The last point at or before the piece's start through the first at or after its end:
                    // enough to interpolate both edges.
                    while point + 1 < points.count, points[point + 1].timestampMilliseconds <= rawStart { point += 1 }
                    var last = point
                    while last + 1 < points.count, points[last].timestampMilliseconds < end { last += 1 }
                    total +=
                        WindowEnergy.integrate(
                            points: Array(points[point...last]), from: rawStart, to: end,
                            maxGapMilliseconds: maxGapMilliseconds
                        ).joules
                }
                while part < parts.count, parts[part].endMilliseconds <= start { part += 1 }
                var lastPart = part
                while lastPart < parts.count, parts[lastPart].startMilliseconds < end { lastPart += 1 }
                total += Self.backfillEnergy(parts[part..<lastPart], from: start, to: end).joules
                joules[index] = total
            }
            return joules
        }
    }
}

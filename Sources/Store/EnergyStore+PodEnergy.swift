import EnergyModel

extension EnergyStore {
    /// A pod's (or a node's `system` or `idle`) attributed energy over a window, summed over
    /// its minute rows.
    public struct PodEnergyTotal: Sendable, Equatable {
        /// The node.
        public var node: String
        /// Whose share.
        public var kind: PodMinuteRow.Kind
        /// The pod's namespace (empty for `system` and `idle`).
        public var namespace: String
        /// The pod's name.
        public var pod: String
        /// The pod's uid.
        public var uid: String
        /// CPU seconds.
        public var cpuSeconds: Double
        /// Joules of the node's dynamic power.
        public var dynamicJoules: Double
        /// Joules of the node's static power.
        public var staticJoules: Double
        /// Milliseconds attributed with the plug's samples behind them.
        public var coveredMilliseconds: Int64
        /// First and last attributed instant (unix milliseconds) within the window.
        public var firstMilliseconds: Int64
        /// End of the last attributed part.
        public var lastMilliseconds: Int64

        /// Kilowatt-hours, emissions and cost of the joules, each minute row's at the intensity
        /// and price in force during its attributed span; nil unless asked for with rates.
        public var footprint: WindowFootprint?

        /// Dynamic plus static joules.
        public var joules: Double { dynamicJoules + staticJoules }
    }

    /// Adds `rows` to `pod_minute` in one transaction: a row of a node, minute and share
    /// already there grows by the new one. Rows must lie within one minute each; a row that
    /// does not, or whose figures are not finite and non-negative, is refused with the rest.
    public func addPodEnergy(_ rows: [PodMinuteRow]) async throws(StoreError) {
        guard !rows.isEmpty else { return }
        for row in rows {
            let minute = Self.floorDiv(row.fromMilliseconds, 60_000)
            guard row.toMilliseconds > row.fromMilliseconds,
                Self.floorDiv(row.toMilliseconds - 1, 60_000) == minute,
                row.coveredMilliseconds >= 0, row.coveredMilliseconds <= row.toMilliseconds - row.fromMilliseconds,
                [row.cpuSeconds, row.dynamicJoules, row.staticJoules].allSatisfy({ $0.isFinite && $0 >= 0 })
            else {
                throw StoreError(
                    code: 0,
                    message:
                        "pod energy row of \(row.node)/\(row.namespace)/\(row.pod) is not within one minute or has bad figures"
                )
            }
        }
        try await run { () throws(StoreError) in
            try self.database.transaction { () throws(StoreError) in
                let upsert = try self.database.prepare(
                    """
                    INSERT INTO pod_minute (node_id, minute, kind, namespace, pod, uid, cpu_seconds, dynamic_joules,
                        static_joules, covered_ms, first_ms, last_ms)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                    ON CONFLICT (node_id, minute, kind, namespace, pod, uid) DO UPDATE SET
                        cpu_seconds = cpu_seconds + ?7, dynamic_joules = dynamic_joules + ?8,
                        static_joules = static_joules + ?9, covered_ms = covered_ms + ?10,
                        first_ms = min(first_ms, ?11), last_ms = max(last_ms, ?12)
                    """)
                for row in rows {
                    upsert.reset()
                    upsert.bind(1, try self.nodeID(row.node))
                    upsert.bind(2, Self.floorDiv(row.fromMilliseconds, 60_000))
                    upsert.bind(3, row.kind.rawValue)
                    upsert.bind(4, row.namespace)
                    upsert.bind(5, row.pod)
                    upsert.bind(6, row.uid)
                    upsert.bind(7, row.cpuSeconds)
                    upsert.bind(8, row.dynamicJoules)
                    upsert.bind(9, row.staticJoules)
                    upsert.bind(10, row.coveredMilliseconds)
                    upsert.bind(11, row.fromMilliseconds)
                    upsert.bind(12, row.toMilliseconds)
                    try upsert.step()
                }
            }
        }
    }

    /// The attributed energy over `[from, to)` (unix milliseconds), one total per node and
    /// share, of pods in `namespace` (every share, `system` and `idle` too, when nil) and on
    /// `node` when given. A minute row cut by the window counts in proportion to the part of
    /// its attributed span inside the window. A row with bad figures is skipped and reported.
    /// With `rates` (not empty), each total carries its footprint: a row's joules spread evenly
    /// over its attributed span, each piece at the intensity and price in force.
    public func podEnergy(
        namespace: String? = nil, node: String? = nil, fromMilliseconds from: Int64, toMilliseconds to: Int64,
        rates: FootprintRates = FootprintRates()
    ) async throws(StoreError) -> [PodEnergyTotal] {
        try await read { (reader: SQLiteDatabase) throws(StoreError) -> [PodEnergyTotal] in
            guard to > from else { return [] }
            var sql = """
                SELECT node.name, p.kind, p.namespace, p.pod, p.uid, p.cpu_seconds, p.dynamic_joules, p.static_joules,
                    p.covered_ms, p.first_ms, p.last_ms, p.minute
                FROM pod_minute AS p JOIN node ON node.id = p.node_id
                WHERE p.minute >= ?1 AND p.minute < ?2
                """
            if namespace != nil { sql += " AND p.namespace = ?3" }
            if node != nil { sql += " AND node.name = ?4" }
            sql += " ORDER BY node.name, p.kind, p.namespace, p.pod, p.uid, p.minute"
            let statement = try reader.prepare(sql)
            statement.bind(1, Self.floorDiv(from, 60_000))
            statement.bind(2, Self.floorDiv(to.subtractingClamped(1), 60_000) + 1)
            if let namespace { statement.bind(3, namespace) }
            if let node { statement.bind(4, node) }
            var totals: [PodEnergyTotal] = []
            while try statement.step() {
                guard let kind = PodMinuteRow.Kind(rawValue: statement.text(1)),
                    let first = statement.storedInt(9), let last = statement.storedInt(10), last > first,
                    let covered = statement.storedInt(8), covered >= 0,
                    let cpu = statement.storedDouble(5), let dynamic = statement.storedDouble(6),
                    let stat = statement.storedDouble(7),
                    [cpu, dynamic, stat].allSatisfy({ $0.isFinite && $0 >= 0 })
                else {
                    let start = statement.int(11).multipliedReportingOverflow(by: 60_000).partialValue
                    reader.skipped(.podMinute, nodeID: nil, start: start, StoredRowDefect("figures out of range"))
                    continue
                }
                let overlap = min(last, to) - max(first, from)
                guard overlap > 0 else { continue }
                let share = Double(overlap) / Double(last - first)
                var part = PodEnergyTotal(
                    node: statement.text(0), kind: kind, namespace: statement.text(2), pod: statement.text(3),
                    uid: statement.text(4), cpuSeconds: cpu * share, dynamicJoules: dynamic * share,
                    staticJoules: stat * share,
                    coveredMilliseconds: Int64(clampingRounding: Double(covered) * share),
                    firstMilliseconds: max(first, from), lastMilliseconds: min(last, to))
                if !rates.isEmpty {
                    // A row lies within one minute: its pieces are the changes of intensity inside it.
                    let start = max(first, from)
                    let end = min(last, to)
                    let cuts = rates.cuts(from: start, to: end)
                    let joules = (dynamic + stat) * share
                    part.footprint = rates.footprint(
                        cuts: cuts,
                        joules: (0..<(cuts.count - 1)).map {
                            joules * Double(cuts[$0 + 1] - cuts[$0]) / Double(end - start)
                        })
                }
                if let previous = totals.last, previous.node == part.node, previous.kind == part.kind,
                    previous.namespace == part.namespace, previous.pod == part.pod, previous.uid == part.uid
                {
                    totals[totals.count - 1].cpuSeconds += part.cpuSeconds
                    totals[totals.count - 1].dynamicJoules += part.dynamicJoules
                    totals[totals.count - 1].staticJoules += part.staticJoules
                    totals[totals.count - 1].coveredMilliseconds += part.coveredMilliseconds
                    totals[totals.count - 1].lastMilliseconds = part.lastMilliseconds
                    if let more = part.footprint { totals[totals.count - 1].footprint?.merge(more) }
                } else {
                    totals.append(part)
                }
            }
            return totals
        }
    }
}

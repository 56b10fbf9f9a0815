import EnergyModel

extension EnergyStore {
    /// Rows of `pod_minute` whose figures are numbers in range; the others are skipped and
    /// reported, as `podEnergy` does.
    private static let validPodMinute = """
        typeof(p.dynamic_joules) IN ('real', 'integer') AND typeof(p.static_joules) IN ('real', 'integer')
            AND p.dynamic_joules BETWEEN 0 AND 1e300 AND p.static_joules BETWEEN 0 AND 1e300
            AND typeof(p.covered_ms) = 'integer' AND p.covered_ms >= 0
        """

    /// The attributed energy of `node` in the minutes that `[from, to)` (unix milliseconds)
    /// touches, per step of `stepMinutes` whole minutes (steps aligned to multiples of their
    /// width, so that a later window puts a minute in the same step): the `maxPods` pods with
    /// the most energy in the window one by one, the others summed as `other`, plus `system`
    /// and `idle`. An unknown node, or a store without pod rows, gives no shares and no steps.
    public func podMinutes(
        node: String, fromMilliseconds from: Int64, toMilliseconds to: Int64, maxPods: Int = 10,
        stepMinutes: Int64 = 1
    ) async throws(StoreError) -> PodMinuteSeries {
        let step = max(1, stepMinutes)
        let stepMilliseconds = step.multipliedReportingOverflow(by: 60_000)
        let width = stepMilliseconds.overflow ? Int64.max : stepMilliseconds.partialValue
        let empty = PodMinuteSeries(stepMilliseconds: width, shares: [], steps: [])
        let top = max(0, maxPods)
        return try await read { (reader: SQLiteDatabase) throws(StoreError) -> PodMinuteSeries in
            guard to > from, let nodeID = try self.readerNodeID(node, in: reader) else { return empty }
            let firstMinute = Self.floorDiv(from, 60_000)
            let endMinute = Self.floorDiv(to.subtractingClamped(1), 60_000) + 1
            let window = "p.node_id = ?1 AND p.minute >= ?2 AND p.minute < ?3"

            let bad = try reader.prepare(
                "SELECT p.minute FROM pod_minute AS p WHERE \(window) AND NOT (\(Self.validPodMinute)) LIMIT 100")
            bad.bind(1, nodeID)
            bad.bind(2, firstMinute)
            bad.bind(3, endMinute)
            while try bad.step() {
                let start = bad.int(0).multipliedReportingOverflow(by: 60_000).partialValue
                reader.skipped(.podMinute, nodeID: nil, start: start, StoredRowDefect("figures out of range"))
            }

            // The biggest pods of the window, by energy (ties by name, so the choice is stable).
            let ranking = try reader.prepare(
                """
                SELECT p.namespace, p.pod, sum(p.dynamic_joules + p.static_joules) AS joules, count(*) OVER ()
                FROM pod_minute AS p
                WHERE \(window) AND p.kind = 'pod' AND \(Self.validPodMinute)
                GROUP BY p.namespace, p.pod
                ORDER BY joules DESC, p.namespace, p.pod
                LIMIT ?4
                """)
            ranking.bind(1, nodeID)
            ranking.bind(2, firstMinute)
            ranking.bind(3, endMinute)
            ranking.bind(4, Int64(top))
            var pods: [PodMinuteSeries.Share] = []
            var podCount = 0
            while try ranking.step() {
                pods.append(
                    PodMinuteSeries.Share(
                        kind: .pod, namespace: ranking.text(0), pod: ranking.text(1), joules: 0, pods: 1))
                podCount = Int(ranking.int(3))
            }
            if top == 0 {
                let count = try reader.prepare(
                    """
                    SELECT count(DISTINCT p.namespace || '/' || p.pod) FROM pod_minute AS p
                    WHERE \(window) AND p.kind = 'pod' AND \(Self.validPodMinute)
                    """)
                count.bind(1, nodeID)
                count.bind(2, firstMinute)
                count.bind(3, endMinute)
                if try count.step() { podCount = Int(count.int(0)) }
            }
            pods.sort { ($0.namespace, $0.pod) < ($1.namespace, $1.pod) }
            var shares = pods
            var column: [String: Int] = [:]
            for (index, share) in pods.enumerated() { column[Self.columnKey(share.namespace, share.pod)] = index }
            let other = shares.count
            shares.append(PodMinuteSeries.Share(kind: .otherPods, joules: 0, pods: max(0, podCount - pods.count)))
            let system = shares.count
            shares.append(PodMinuteSeries.Share(kind: .system, joules: 0, pods: 0))
            let idle = shares.count
            shares.append(PodMinuteSeries.Share(kind: .idle, joules: 0, pods: 0))

            // One row per minute and column: the pods outside the ranking fold into one row.
            let series = try reader.prepare(
                """
                WITH top (namespace, pod) AS (
                    SELECT p.namespace, p.pod FROM pod_minute AS p
                    WHERE \(window) AND p.kind = 'pod' AND \(Self.validPodMinute)
                    GROUP BY p.namespace, p.pod
                    ORDER BY sum(p.dynamic_joules + p.static_joules) DESC, p.namespace, p.pod
                    LIMIT ?4
                )
                SELECT p.minute, p.kind, t.namespace, t.pod, sum(p.dynamic_joules + p.static_joules), max(p.covered_ms)
                FROM pod_minute AS p LEFT JOIN top AS t
                    ON p.kind = 'pod' AND t.namespace = p.namespace AND t.pod = p.pod
                WHERE \(window) AND \(Self.validPodMinute)
                GROUP BY p.minute, p.kind, t.namespace, t.pod
                ORDER BY p.minute
                """)
            series.bind(1, nodeID)
            series.bind(2, firstMinute)
            series.bind(3, endMinute)
            series.bind(4, Int64(top))
            var steps: [PodMinuteSeries.Step] = []
            var present = Array(repeating: false, count: shares.count)
            var minute: Int64? = nil
            var minuteCovered: Int64 = 0
            while try series.step() {
                let rowMinute = series.int(0)
                guard let joules = series.storedDouble(4), let covered = series.storedInt(5) else { continue }
                let index: Int
                switch PodMinuteRow.Kind(rawValue: series.text(1)) {
                case .pod?:
                    index = series.isNull(3) ? other : column[Self.columnKey(series.text(2), series.text(3))] ?? other
                case .system?: index = system
                case .idle?: index = idle
                case nil: continue
                }
                let (bucket, overflow) = Self.floorDiv(rowMinute, step).multipliedReportingOverflow(by: step)
                let (start, outOfRange) = bucket.multipliedReportingOverflow(by: 60_000)
                guard !overflow, !outOfRange else { continue }
                if minute != rowMinute {
                    // The node's covered time of a minute is that of its most covered share.
                    if let last = steps.indices.last {
                        steps[last].coveredMilliseconds = steps[last].coveredMilliseconds.addingClamped(minuteCovered)
                    }
                    minute = rowMinute
                    minuteCovered = 0
                }
                if steps.last?.startMilliseconds != start {
                    steps.append(
                        PodMinuteSeries.Step(
                            startMilliseconds: start, coveredMilliseconds: 0,
                            joules: Array(repeating: 0, count: shares.count),
                            shareCoveredMilliseconds: Array(repeating: 0, count: shares.count)))
                }
                let last = steps.count - 1
                steps[last].joules[index] += joules
                steps[last].shareCoveredMilliseconds[index] = steps[last].shareCoveredMilliseconds[index]
                    .addingClamped(covered)
                shares[index].joules += joules
                present[index] = true
                minuteCovered = max(minuteCovered, covered)
            }
            if let last = steps.indices.last {
                steps[last].coveredMilliseconds = steps[last].coveredMilliseconds.addingClamped(minuteCovered)
            }
            // Only the columns with rows in the window.
            let kept = shares.indices.filter { present[$0] }
            return PodMinuteSeries(
                stepMilliseconds: width, shares: kept.map { shares[$0] },
                steps: steps.map { step in
                    var step = step
                    step.joules = kept.map { step.joules[$0] }
                    step.shareCoveredMilliseconds = kept.map { step.shareCoveredMilliseconds[$0] }
                    return step
                })
        }
    }

    /// A pod's column key; a NUL cannot occur in Kubernetes names.
    private static func columnKey(_ namespace: String, _ pod: String) -> String {
        namespace + "\u{0}" + pod
    }
}

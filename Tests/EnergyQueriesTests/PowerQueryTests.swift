import EnergyQueries
import Testing

/// `GET /api/v1/power`'s parameters.
@Suite("Power query")
struct PowerQueryTests {
    static let now: Int64 = 1_769_030_700_000
    static let known = ["tvpc", "wyse", "rpi"]

    static func query(node: String? = nil, from: String? = nil, to: String? = nil, step: String? = nil)
        throws(QueryError) -> PowerQuery
    {
        try PowerQuery(node: node, from: from, to: to, step: step, knownNodes: known, nowMilliseconds: now)
    }

    @Test("defaults: every node, the last 15 minutes, 300 points")
    func defaults() throws {
        let query = try Self.query()
        #expect(query.nodes == Self.known)
        #expect(query.toMilliseconds == Self.now)
        #expect(query.fromMilliseconds == Self.now - 900_000)
        #expect(query.stepMilliseconds == 3_000)
        // Without `from`, the 15 minutes before `to`.
        let earlier = try Self.query(to: "now-1h")
        #expect(earlier.fromMilliseconds == Self.now - 3_600_000 - 900_000)
    }

    @Test(
        "accepted parameters",
        arguments: [
            ("rpi,tvpc,rpi", "now-1h", "now", "1m", ["rpi", "tvpc"], now - 3_600_000, now, Int64(60_000)),
            ("wyse", "1769030000", "1769030600.5", "2.5", ["wyse"], 1_769_030_000_000, 1_769_030_600_500, 2_500),
            (
                "", "2026-01-21T21:00:00Z", "2026-01-21T22:00:00Z", "1m30s", known, 1_769_029_200_000,
                1_769_032_800_000, 90_000
            ),
        ]
    )
    func accepted(
        node: String, from: String, to: String, step: String, nodes: [String], fromMs: Int64, toMs: Int64, stepMs: Int64
    ) throws {
        let query = try Self.query(node: node, from: from, to: to, step: step)
        #expect(
            query == PowerQuery(nodes: nodes, fromMilliseconds: fromMs, toMilliseconds: toMs, stepMilliseconds: stepMs))
    }

    @Test(
        "refused parameters name the parameter in one line",
        arguments: [
            ("nope", nil, nil, nil, "node: unknown node \"nope\" (known: tvpc, wyse, rpi)"),
            ("tvpc,,rpi", nil, nil, nil, "node: empty name in \"tvpc,,rpi\""),
            (nil, "soon", nil, nil, "from: not a time"),
            (nil, nil, "later", nil, "to: not a time"),
            (nil, "now", "now-1m", nil, "to: must be after from"),
            (nil, "now-32d", nil, "1h", "from: the window is longer than 31 days"),
            (nil, nil, nil, "99ms", "step: 99ms is below the smallest step 100ms"),
            (nil, nil, nil, "-5", "step: not a duration"),
            (nil, nil, nil, "fast", "step: not a duration"),
            (nil, nil, nil, "1e10", "step: 1e10 is too large"),
            (nil, "now-1d", nil, "1s", "step: 1s gives 86400 points per series; at most 5000, choose a larger step"),
        ] as [(String?, String?, String?, String?, String)]
    )
    func refused(node: String?, from: String?, to: String?, step: String?, message: String) {
        #expect {
            _ = try Self.query(node: node, from: from, to: to, step: step)
        } throws: { error in
            let text = (error as? QueryError)?.message(.query) ?? ""
            return text.hasPrefix(message) && !text.contains("\n")
        }
    }
}

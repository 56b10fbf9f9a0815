import EnergyQueries
import Testing

/// The parameters of `GET /api/v1/energy` and `energy-monitor energy`.
@Suite("Energy query")
struct EnergyQueryTests {
    static let now: Int64 = 1_769_030_700_000
    static let known = ["rpi", "tvpc"]

    @Test("defaults: every node of the store, the last hour")
    func defaults() throws {
        let query = try EnergyQuery(node: nil, from: nil, to: nil, knownNodes: Self.known, nowMilliseconds: Self.now)
        #expect(
            query == EnergyQuery(nodes: Self.known, fromMilliseconds: Self.now - 3_600_000, toMilliseconds: Self.now))
        let explicit = try EnergyQuery(
            node: "tvpc,tvpc", from: "1769030000.5", to: "2026-01-21T21:25:00Z", knownNodes: Self.known,
            nowMilliseconds: Self.now)
        #expect(
            explicit
                == EnergyQuery(nodes: ["tvpc"], fromMilliseconds: 1_769_030_000_500, toMilliseconds: 1_769_030_700_000))
        // Without `from`, the hour before now, whatever `to` is (as `--from now-1h` reads).
        #expect(throws: QueryError(.to, [.text("must be after "), .parameter(.from)])) {
            try EnergyQuery(node: nil, from: nil, to: "now-2h", knownNodes: Self.known, nowMilliseconds: Self.now)
        }
    }

    @Test(
        "refused parameters: one line naming the parameter",
        arguments: [
            ("nope", nil, nil, "node: unknown node \"nope\" (known: rpi, tvpc)"),
            ("rpi,,tvpc", nil, nil, "node: empty name in \"rpi,,tvpc\""),
            (nil, "soon", nil, "from: not a time"),
            (nil, nil, "1e999", "to: not a time"),
            (nil, "now", "now-1m", "to: must be after from"),
            (nil, "now-401d", nil, "from: the window is longer than 400 days"),
        ] as [(String?, String?, String?, String)]
    )
    func refused(node: String?, from: String?, to: String?, message: String) {
        #expect {
            _ = try EnergyQuery(node: node, from: from, to: to, knownNodes: Self.known, nowMilliseconds: Self.now)
        } throws: { error in
            (error as? QueryError)?.message(.query).hasPrefix(message) == true
        }
    }

    @Test("without a limit on the window (the command line), 500 days are a window like any other")
    func unlimited() throws {
        let query = try EnergyQuery(
            node: "rpi", from: "now-500d", to: nil, knownNodes: Self.known, nowMilliseconds: Self.now,
            maxWindowDays: nil)
        #expect(query.toMilliseconds - query.fromMilliseconds == 500 * 86_400_000)
    }

    @Test("the window is checked before the nodes, so a caller may check it before it opens the store")
    func windowFirst() {
        #expect(throws: QueryError(.from, "the window is longer than 400 days")) {
            try EnergyQuery(node: "nope", from: "now-401d", to: nil, knownNodes: [], nowMilliseconds: Self.now)
        }
    }
}

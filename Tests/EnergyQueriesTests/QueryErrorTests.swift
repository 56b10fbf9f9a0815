import EnergyQueries
import Testing

/// The same mistake reads the same on HTTP and on the command line, but for how each names
/// its parameters.
@Suite("Query errors")
struct QueryErrorTests {
    static let now: Int64 = 1_769_030_700_000

    @Test(
        "one wording, each interface's names",
        arguments: [
            (
                nil, "now", "now-1m", "to: must be after from", "--to: must be after --from"
            ),
            (
                "x", nil, nil, #"node: unknown node "x" (known: rpi, tvpc)"#,
                #"--node: unknown node "x" (known: rpi, tvpc)"#
            ),
            (
                nil, "soon", nil,
                #"from: not a time: "soon" (use RFC 3339 like 2026-01-21T21:25:01Z, unix seconds, or now-1h)"#,
                #"--from: not a time: "soon" (use RFC 3339 like 2026-01-21T21:25:01Z, unix seconds, or now-1h)"#
            ),
        ] as [(String?, String?, String?, String, String)]
    )
    func spellings(node: String?, from: String?, to: String?, query: String, option: String) throws {
        do {
            _ = try EnergyQuery(node: node, from: from, to: to, knownNodes: ["rpi", "tvpc"], nowMilliseconds: Self.now)
            Issue.record("accepted")
        } catch {
            #expect(error.message(.query) == query)
            #expect(error.message(.option) == option)
            #expect(error.description == query)
        }
    }

    @Test("a line break in a value cannot split the line")
    func oneLine() throws {
        do {
            _ = try EnergyQuery(node: "a\r\nb", from: nil, to: nil, knownNodes: [], nowMilliseconds: Self.now)
            Issue.record("accepted")
        } catch {
            #expect(error.message(.query) == #"node: unknown node "a\r\nb" (known: none)"#)
        }
    }

    @Test("extreme defaults and limits from the caller answer or refuse, never trap")
    func extremes() throws {
        let hugeDefault = try QueryWindow(
            from: nil, to: nil, defaultStart: .beforeNow(milliseconds: .max), maxDays: nil, nowMilliseconds: -2)
        #expect(hugeDefault.fromMilliseconds == .min && hugeDefault.milliseconds == .max - 1)
        #expect(QueryWindow(fromMilliseconds: .min, toMilliseconds: 1).milliseconds == .max)
        #expect(throws: QueryError(.from, "the window is longer than 400 days")) {
            try QueryWindow(
                from: nil, to: nil, defaultStart: .beforeEnd(milliseconds: .max), maxDays: 400, nowMilliseconds: 1)
        }
        let unlimited = try QueryWindow(
            from: "0", to: "now", defaultStart: .beforeNow(milliseconds: 0), maxDays: .max, nowMilliseconds: Self.now)
        #expect(unlimited.milliseconds == Self.now)
        #expect(throws: QueryError(.to, [.text("must be after "), .parameter(.from)])) {
            try QueryWindow(
                from: nil, to: nil, defaultStart: .beforeNow(milliseconds: .min), maxDays: nil, nowMilliseconds: 0)
        }
    }
}

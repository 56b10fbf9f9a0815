import EnergyModel
import Foundation
import TestSupport
import Testing

@testable import Store

@Suite("Pod power series in the store")
struct PodMinutesStoreTests {
    static let minute: Int64 = 1_700_000_040_000  // a minute boundary

    private func row(
        _ pod: String, minute: Int64, from: Int64 = 0, to: Int64 = 60_000, joules: Double,
        kind: PodMinuteRow.Kind = .pod, namespace: String = "ml", uid: String? = nil, node: String = "a"
    ) -> PodMinuteRow {
        let start = Self.minute + minute * 60_000
        return PodMinuteRow(
            node: node, kind: kind, namespace: kind == .pod ? namespace : "", pod: kind == .pod ? pod : "",
            uid: kind == .pod ? uid ?? "uid-\(pod)" : "", fromMilliseconds: start + from, toMilliseconds: start + to,
            cpuSeconds: 1, dynamicJoules: joules * 0.75, staticJoules: joules * 0.25, coveredMilliseconds: to - from)
    }

    @Test(
        "per minute: each share's joules and covered time, the node's covered time, shares by name then system and idle"
    )
    func perMinute() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        try await store.addPodEnergy([
            row("web", minute: 0, joules: 600),
            row("batch", minute: 0, from: 30_000, joules: 300),
            row("", minute: 0, joules: 120, kind: .system),
            row("", minute: 0, joules: 1200, kind: .idle),
            // Minute 1 attributed for its first 45 s only; minute 2 has nothing.
            row("web", minute: 1, to: 45_000, joules: 450),
            row("", minute: 1, to: 45_000, joules: 900, kind: .idle),
            row("web", minute: 3, joules: 60),
            row("", minute: 3, joules: 60, kind: .idle),
            // Another node's rows stay apart.
            row("web", minute: 0, joules: 5000, node: "b"),
        ])
        let series = try await store.podMinutes(
            node: "a", fromMilliseconds: Self.minute, toMilliseconds: Self.minute + 4 * 60_000)
        #expect(series.stepMilliseconds == 60_000)
        #expect(series.shares.map(\.kind) == [.pod, .pod, .system, .idle])
        #expect(series.shares.map(\.pod) == ["batch", "web", "", ""])
        #expect(series.shares.map(\.joules) == [300, 1110, 120, 2160])
        #expect(series.steps.map(\.startMilliseconds) == [0, 1, 3].map { Self.minute + $0 * 60_000 })
        #expect(series.steps.map(\.coveredMilliseconds) == [60_000, 45_000, 60_000])
        #expect(series.steps[0].joules == [300, 600, 120, 1200])
        #expect(series.steps[0].shareCoveredMilliseconds == [30_000, 60_000, 60_000, 60_000])
        #expect(series.steps[1].joules == [0, 450, 0, 900])
        #expect(series.steps[2].joules == [0, 60, 0, 60])
        // A window that cuts a minute takes the whole minute; one that ends on a boundary stops there.
        let cut = try await store.podMinutes(
            node: "a", fromMilliseconds: Self.minute + 30_000, toMilliseconds: Self.minute + 60_000)
        #expect(cut.steps.count == 1 && cut.steps.first?.joules == [300, 600, 120, 1200])
    }

    @Test("a node with a thousand pods: the biggest ones by name, the rest summed as other pods; nothing lost")
    func bounded() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        var rows: [PodMinuteRow] = []
        var total = 0.0
        for index in 0..<1000 {
            // Pod i draws i joules a minute, for three minutes.
            for minute in Int64(0)..<3 {
                rows.append(row(String(format: "pod-%04d", index), minute: minute, joules: Double(index)))
                total += Double(index)
            }
        }
        for minute in Int64(0)..<3 { rows.append(row("", minute: minute, joules: 50, kind: .system)) }
        total += 150
        try await store.addPodEnergy(rows)
        let series = try await store.podMinutes(
            node: "a", fromMilliseconds: Self.minute, toMilliseconds: Self.minute + 3 * 60_000, maxPods: 4)
        #expect(series.shares.map(\.pod) == ["pod-0996", "pod-0997", "pod-0998", "pod-0999", "", ""])
        #expect(series.shares.map(\.kind) == [.pod, .pod, .pod, .pod, .otherPods, .system])
        #expect(series.shares[4].pods == 996)
        #expect(series.steps.count == 3)
        for step in series.steps {
            #expect(step.joules.count == 6 && step.shareCoveredMilliseconds.count == 6)
            #expect(step.joules[4] == Double((0..<996).reduce(0, +)))
            #expect(step.coveredMilliseconds == 60_000)
        }
        let summed = series.steps.reduce(0.0) { $0 + $1.joules.reduce(0, +) }
        #expect(abs(summed - total) < 1e-6 * total)
        #expect(abs(series.shares.reduce(0.0) { $0 + $1.joules } - total) < 1e-6 * total)
        // Without a limit on pods by name, every pod is in "other".
        let none = try await store.podMinutes(
            node: "a", fromMilliseconds: Self.minute, toMilliseconds: Self.minute + 3 * 60_000, maxPods: 0)
        #expect(none.shares.map(\.kind) == [.otherPods, .system])
        #expect(none.shares.first?.pods == 1000)
    }

    @Test("steps of several minutes line up on multiples of their width; a pod under two uids is one share")
    func wideSteps() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        // Self.minute is minute 28,333,334 of the epoch: steps of 5 minutes start at ...330 and ...335.
        try await store.addPodEnergy(
            (Int64(0)..<6).flatMap { minute in
                [
                    row("db-0", minute: minute, joules: 60, uid: minute < 3 ? "old" : "new"),
                    row("", minute: minute, joules: 30, kind: .idle),
                ]
            })
        let series = try await store.podMinutes(
            node: "a", fromMilliseconds: Self.minute, toMilliseconds: Self.minute + 6 * 60_000, stepMinutes: 5)
        #expect(series.stepMilliseconds == 300_000)
        #expect(series.shares.map(\.pod) == ["db-0", ""])
        #expect(series.steps.map(\.startMilliseconds) == [28_333_330 * 60_000, 28_333_335 * 60_000])
        #expect(series.steps.map(\.joules) == [[60, 30], [300, 150]])
        #expect(series.steps.map(\.coveredMilliseconds) == [60_000, 300_000])
    }

    @Test("an unknown node, an empty or absurd window, a store without pod rows: no shares, no steps, no trap")
    func empty() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        #expect(try await store.podMinutes(node: "a", fromMilliseconds: 0, toMilliseconds: .max).shares.isEmpty)
        try await store.addPodEnergy([row("web", minute: 0, joules: 60)])
        #expect(try await store.podMinutes(node: "zz", fromMilliseconds: 0, toMilliseconds: .max).steps.isEmpty)
        #expect(
            try await store.podMinutes(node: "a", fromMilliseconds: Self.minute, toMilliseconds: Self.minute).steps
                .isEmpty)
        for (from, to, steps) in [(Int64.min, Int64.max, Int64.max), (Int64.min, Int64.max, Int64.min), (-1, 1, 1)] {
            let series = try await store.podMinutes(
                node: "a", fromMilliseconds: from, toMilliseconds: to, maxPods: .max, stepMinutes: steps)
            #expect(series.steps.count == (from < Self.minute ? (to > Self.minute ? 1 : 0) : 0), "\(from) \(to)")
        }
        let all = try await store.podMinutes(node: "a", fromMilliseconds: .min, toMilliseconds: .max, maxPods: -3)
        #expect(all.shares.map(\.kind) == [.otherPods])
        #expect(all.steps.map(\.joules) == [[60]])
    }

    @Test("a stored row with absurd figures is skipped and counted, not drawn")
    func badRow() async throws {
        let folder = try TemporaryDirectory()
        let store = try EnergyStore(path: folder.path("e.db"))
        try await store.addPodEnergy([row("p", minute: 0, joules: 30), row("q", minute: 0, joules: 3)])
        let database = try SQLiteDatabase(path: folder.path("e.db"))
        try database.execute("UPDATE pod_minute SET static_joules = 1e400 WHERE pod = 'q'")
        let series = try await store.podMinutes(
            node: "a", fromMilliseconds: Self.minute, toMilliseconds: Self.minute + 60_000)
        #expect(series.shares.map(\.pod) == ["p"])
        #expect(series.steps.map(\.joules) == [[30]])
        #expect(store.faults.badRows[.podMinute] == 1)
    }
}

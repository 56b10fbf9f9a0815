import Testing

@testable import ShellyPoller

/// The WebSocket deadline watcher spares calls while the process was held up (a reply that
/// arrived in time waits in the same queue as the watcher), and only for so long.
@Suite("Held-up clock")
struct HeldUpClockTests {
    static let step = CallDeadlines.resolutionNanoseconds
    static let stall = CallDeadlines.stallNanoseconds

    @Test("on-time wakes spare nothing; a late wake spares until a wake is on time again")
    func lateWake() {
        var clock = HeldUpClock(expected: 0)
        let onTime = clock.woke(at: 0)
        let slightlyLate = clock.woke(at: Self.step + Self.stall / 2)
        // Held up for 2.5 s: the queued work runs before any call ends...
        var now = 2 * Self.step + 2_500_000_000
        let heldUp = clock.woke(at: now)
        // ...and once the watcher wakes on time again, calls end.
        now += Self.step
        let caughtUp = clock.woke(at: now)
        #expect(!onTime)
        #expect(!slightlyLate, "late by less than a stall")
        #expect(heldUp)
        #expect(!caughtUp)
    }

    @Test("a process held up for longer than the grace gets no more of it")
    func graceEnds() {
        var clock = HeldUpClock(expected: 0)
        var now: Int64 = 0
        var spared: [Bool] = []
        // Every wake late, for twice the grace.
        while now < 2 * CallDeadlines.graceNanoseconds {
            now += Self.step + 2 * Self.stall
            spared.append(clock.woke(at: now))
        }
        let lateWakes = Int(CallDeadlines.graceNanoseconds / (Self.step + 2 * Self.stall))
        #expect(spared.prefix(lateWakes).allSatisfy { $0 }, "\(spared)")
        #expect(spared.dropFirst(lateWakes + 1).allSatisfy { !$0 }, "\(spared)")
        // An on-time wake starts afresh.
        now += Self.step
        let onTime = clock.woke(at: now)
        now += Self.step + 2 * Self.stall
        let lateAgain = clock.woke(at: now)
        #expect(!onTime && lateAgain)
    }
}

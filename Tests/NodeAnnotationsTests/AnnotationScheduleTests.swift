import Kubernetes
import NodeAnnotations
import Testing

/// The publishing rules, driven by plain clock readings: no sleeping.
@Suite("AnnotationSchedule")
struct AnnotationScheduleTests {
    typealias Value = AnnotationSchedule.Value
    let policy = AnnotationPolicy(heartbeatMilliseconds: 15_000, deadbandWatts: 1.0)
    static let base: Int64 = 1_700_000_000_000

    /// Offers `value` at its own time and writes whatever is due, succeeding.
    @discardableResult
    func step(_ schedule: inout AnnotationSchedule, _ watts: Double, at ms: Int64, outcome: PatchOutcome = .ok) -> Value? {
        schedule.offer(Value(watts: watts, timestampMilliseconds: ms))
        guard case .write(let value) = schedule.nextAction(now: ms) else { return nil }
        _ = schedule.complete(value, outcome: outcome, now: ms + 20, jitter: 0.5)
        return value
    }

    @Test("the first sample is written at once; a change inside the deadband waits for the heartbeat")
    func deadbandAndHeartbeat() {
        var schedule = AnnotationSchedule(policy: policy)
        let t = Self.base + 300
        let first = step(&schedule, 40.0, at: t)
        #expect(first != nil)
        let inside = step(&schedule, 40.6, at: t + 1000)
        #expect(inside == nil)
        // Due before the published second (t rounded down) is 15 s old, minus the lead.
        let beforeHeartbeat = schedule.nextAction(now: t + 2000)
        #expect(beforeHeartbeat == .wait(until: Self.base + 14_000))
        let heartbeat = step(&schedule, 40.9, at: Self.base + 14_000)
        #expect(heartbeat == Value(watts: 40.9, timestampMilliseconds: Self.base + 14_000))
    }

    @Test("a change beyond the deadband or beyond 5 % is written at once, but at most once a second")
    func stepsAndRateLimit() {
        var schedule = AnnotationSchedule(policy: AnnotationPolicy(deadbandWatts: 10))
        let t = Self.base
        _ = step(&schedule, 100, at: t)
        // 6 W: inside the 10 W deadband but above 5 % of 100 W.
        let fivePercent = step(&schedule, 106, at: t + 1000)
        #expect(fivePercent != nil)
        // Another step 300 ms later is held back to one second after the last write.
        schedule.offer(Value(watts: 200, timestampMilliseconds: t + 1300))
        let heldBack = schedule.nextAction(now: t + 1300)
        #expect(heldBack == .wait(until: t + 2000))
        let released = schedule.nextAction(now: t + 2000)
        #expect(released == .write(Value(watts: 200, timestampMilliseconds: t + 1300)))
        // 4 % of a small value and under the deadband: not a step.
        var small = AnnotationSchedule(policy: AnnotationPolicy(deadbandWatts: 1))
        _ = step(&small, 2.5, at: t)
        let fourPercent = step(&small, 2.6, at: t + 1000)
        #expect(fourPercent == nil)
        let eightPercent = step(&small, 2.7, at: t + 2000)  // 8 % of 2.5 W
        #expect(eightPercent != nil)
    }

    @Test("only the latest sample is kept; replacing an unwritten one counts as skipped")
    func latestWins() {
        var schedule = AnnotationSchedule(policy: policy)
        let t = Self.base
        _ = step(&schedule, 10, at: t)
        let firstOffer = schedule.offer(Value(watts: 10.1, timestampMilliseconds: t + 1000))
        #expect(firstOffer == (true, false))
        let secondOffer = schedule.offer(Value(watts: 10.2, timestampMilliseconds: t + 2000))
        #expect(secondOffer == (true, true))
        let olderOffer = schedule.offer(Value(watts: 99, timestampMilliseconds: t + 1500))
        #expect(olderOffer == (false, false))
        #expect(schedule.pending == Value(watts: 10.2, timestampMilliseconds: t + 2000))
    }

    @Test("failures back off exponentially with jitter; a newer sample replaces the failed one")
    func backoff() throws {
        var schedule = AnnotationSchedule(policy: policy)
        let t = Self.base
        schedule.offer(Value(watts: 50, timestampMilliseconds: t))
        var now = t
        var delays: [Int64] = []
        for _ in 0..<7 {
            guard case .write(let value) = schedule.nextAction(now: now) else {
                Issue.record("expected a write at \(now)")
                return
            }
            let completion = schedule.complete(value, outcome: .transport(.connect("refused")), now: now, jitter: 0)
            let retryAt = try #require(completion.retryAt)
            delays.append(retryAt - now)
            // The rate limit (one write a second) still applies under a shorter backoff.
            let due = max(retryAt, now + 1000)
            let waiting = schedule.nextAction(now: due - 1)
            #expect(waiting == .wait(until: due))
            now = due
        }
        #expect(delays == [500, 1000, 2000, 4000, 8000, 15_000, 15_000])
        #expect(policy.backoffMilliseconds(failures: 1, jitter: 0.75) == 875)
        #expect(policy.backoffMilliseconds(failures: 3, jitter: 0.5) == 3000)
        // The value that failed is retried unless a newer one came.
        schedule.offer(Value(watts: 51, timestampMilliseconds: now + 10))
        let newer = schedule.nextAction(now: now + 10)
        #expect(newer == .write(Value(watts: 51, timestampMilliseconds: now + 10)))
        let completion = schedule.complete(Value(watts: 51, timestampMilliseconds: now + 10), outcome: .ok, now: now + 30, jitter: 0)
        #expect(completion.recoveredAfter == 7)
        #expect(schedule.failures == 0)
    }

    @Test("429 waits exactly Retry-After; repeated identical failures are flagged")
    func retryAfter() {
        var schedule = AnnotationSchedule(policy: policy)
        let t = Self.base
        schedule.offer(Value(watts: 5, timestampMilliseconds: t))
        guard case .write(let value) = schedule.nextAction(now: t) else {
            Issue.record("no write")
            return
        }
        let throttled = PatchOutcome.throttled(APIStatus(code: 429, message: "Too many requests"), retryAfterSeconds: 3)
        let first = schedule.complete(value, outcome: throttled, now: t + 5, jitter: 0.5)
        #expect(first.retryAt == t + 3005)
        #expect(!first.repeatedFailure)
        let beforeRetryAfter = schedule.nextAction(now: t + 3004)
        #expect(beforeRetryAfter == .wait(until: t + 3005))
        guard case .write(let again) = schedule.nextAction(now: t + 3005) else {
            Issue.record("no retry")
            return
        }
        let repeated = schedule.complete(again, outcome: throttled, now: t + 3010, jitter: 0.5).repeatedFailure
        #expect(repeated)
    }

    @Test("an extreme Retry-After waits the 300 s cap, never traps; zero or negative waits nothing", arguments: [1e16, 1e300, .infinity, .nan, -5, 0, .leastNonzeroMagnitude])
    func extremeRetryAfter(seconds: Double) {
        var schedule = AnnotationSchedule(policy: policy)
        let t = Self.base
        schedule.offer(Value(watts: 5, timestampMilliseconds: t))
        guard case .write(let value) = schedule.nextAction(now: t) else {
            Issue.record("no write")
            return
        }
        let throttled = PatchOutcome.throttled(APIStatus(code: 429, message: "Too many requests"), retryAfterSeconds: seconds)
        let retryAt = schedule.complete(value, outcome: throttled, now: t, jitter: 0.5).retryAt
        let expected: Int64 = seconds.isNaN || seconds <= 0 ? t : seconds < 1 ? t + 1 : t + policy.retryAfterMaxMilliseconds
        #expect(retryAt == expected, "Retry-After \(seconds)")
    }

    @Test("a steady minute at 1 Hz: at most 6 writes and last-updated never older than the heartbeat")
    func steadyMinute() {
        var schedule = AnnotationSchedule(policy: policy)
        var writes: [(at: Int64, value: Value)] = []
        var now = Self.base + 7
        var published: Value?
        var oldest: Int64 = 0
        while now < Self.base + 120_000 {
            let ripple = 0.3 * Double((now / 1000) % 3) - 0.3
            schedule.offer(Value(watts: 40 + ripple, timestampMilliseconds: now))
            if case .write(let value) = schedule.nextAction(now: now) {
                if let published { oldest = max(oldest, now + 50 - published.timestampMilliseconds.floorDivided1000 * 1000) }
                _ = schedule.complete(value, outcome: .ok, now: now + 50, jitter: 0)
                writes.append((now, value))
                published = value
            }
            now += 1000
        }
        let lastMinute = writes.filter { $0.at >= Self.base + 60_000 }
        #expect(lastMinute.count <= 6)
        #expect(lastMinute.count >= 4)
        #expect(oldest <= 15_000)
    }
}

extension Int64 {
    fileprivate var floorDivided1000: Int64 { self >= 0 ? self / 1000 : (self - 999) / 1000 }
}

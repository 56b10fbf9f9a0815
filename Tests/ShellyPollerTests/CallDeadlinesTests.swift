import EnergyModel
import Synchronization
import TestSupport
import Testing

@testable import ShellyPoller

/// The one watcher of every WebSocket call's deadline: each call ends at its own deadline,
/// whatever other calls (of other plugs, with longer times) are watched meanwhile.
@Suite("Call deadlines")
struct CallDeadlinesTests {
    /// A transport that records when each call's deadline was reported passed.
    final class Recorder: RPCTransport {
        let passed = Mutex<[Int64: Int64]>([:])

        func call(
            method: String, params: String, auth: String?, deadline: Int64
        ) async -> Result<RPCWebSocket.Reply, RPCWebSocket.CallFailure> {
            .failure(.noTimeLeft)
        }
        func close() {}
        func deadlinePassed(_ id: Int64) {
            passed.withLock { $0[id] = MonotonicClock.nowNanoseconds() }
        }
    }

    static let millisecond: Int64 = 1_000_000

    @Test("a call sooner than the watcher's wake ends on time, also after another early one ended")
    func earlyCallsAfterEarlyCalls() async throws {
        let deadlines = CallDeadlines()
        let recorder = Recorder()
        let start = MonotonicClock.nowNanoseconds()
        // A long call (another plug's, a history read) sets the watcher's wake far away.
        deadlines.watch(recorder, id: 1, deadline: start + 60_000 * Self.millisecond)
        // Then one short call after another, each sooner than that wake, each watched only
        // once the one before it ended.
        for id in Int64(2)...5 {
            let deadline = MonotonicClock.nowNanoseconds() + 200 * Self.millisecond
            deadlines.watch(recorder, id: id, deadline: deadline)
            let ended = await eventually(within: .seconds(20), every: .milliseconds(10)) {
                recorder.passed.withLock { $0[id] != nil }
            }
            try #require(ended, "call \(id) was not ended at its deadline")
            let at = try #require(recorder.passed.withLock { $0[id] })
            #expect(at >= deadline, "call \(id) ended before its deadline")
        }
        #expect(recorder.passed.withLock { $0[1] } == nil, "the long call is not due")
    }

    @Test("calls of one deadline end together; a finished call's entry only waits for its time")
    func sharedDeadline() async throws {
        let deadlines = CallDeadlines()
        let recorder = Recorder()
        let deadline = MonotonicClock.nowNanoseconds() + 100 * Self.millisecond
        for id in Int64(1)...20 { deadlines.watch(recorder, id: id, deadline: deadline) }
        let ended = await eventually(within: .seconds(20), every: .milliseconds(10)) {
            recorder.passed.withLock { $0.count == 20 }
        }
        #expect(ended)
        #expect(recorder.passed.withLock { $0.values.allSatisfy { $0 >= deadline } })
    }
}

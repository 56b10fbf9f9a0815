import Foundation
import Kubernetes
import Logging
import NodeAnnotations
import Synchronization
import Testing
import TestSupport

/// A clock that moves only when the test says so.
final class ManualClock: AnnotationClock {
    private struct Sleeper {
        let deadline: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Int64
        var sleepers: [UUID: Sleeper] = [:]
    }

    private let state: Mutex<State>

    init(now: Int64) { state = Mutex(State(now: now)) }

    func nowMilliseconds() -> Int64 { state.withLock { $0.now } }

    func sleep(untilMilliseconds deadline: Int64) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume = state.withLock { state -> Bool in
                    if state.now >= deadline { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resume { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    func advance(to now: Int64) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// Records patches; can hold a node's writes until released.
final class RecordingPatcher: NodeAnnotationPatching {
    struct Call: Sendable, Equatable {
        let node: String
        let annotations: [String: String]
    }

    private struct State {
        var calls: [Call] = []
        var held: Set<String> = []
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var calls: [Call] { state.withLock { $0.calls } }

    func hold(_ node: String) { state.withLock { _ = $0.held.insert(node) } }

    func releaseAll() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.held.removeAll()
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func patchNodeAnnotations(node: String, annotations: [String: String]) async -> PatchOutcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let hold = state.withLock { state -> Bool in
                state.calls.append(Call(node: node, annotations: annotations))
                guard state.held.contains(node) else { return false }
                state.waiting.append(continuation)
                return true
            }
            if !hold { continuation.resume() }
        }
        return .ok
    }
}

@Suite("AnnotationPublisher")
struct AnnotationPublisherTests {
    static let start: Int64 = 1_700_000_000_250

    @Test("writes both annotations at once, and holds a quick second step until the clock allows it")
    func rateLimitWithInjectedClock() async throws {
        let clock = ManualClock(now: Self.start)
        let patcher = RecordingPatcher()
        let publisher = AnnotationPublisher(
            nodes: ["wyse"], prefix: "energy.thesis.io", policy: AnnotationPolicy(), patcher: patcher, clock: clock,
            logger: Logger(label: "test"))
        let running = Task { try await publisher.run() }
        defer { running.cancel() }

        publisher.offer(node: "wyse", watts: 12.345, timestampMilliseconds: Self.start)
        #expect(await eventually(within: .seconds(30), every: .milliseconds(10)) { patcher.calls.count == 1 })
        #expect(
            patcher.calls.first?.annotations == [
                "energy.thesis.io/current-watts": "12.35", "energy.thesis.io/last-updated": "1700000000",
            ])

        clock.advance(to: Self.start + 300)
        publisher.offer(node: "wyse", watts: 30, timestampMilliseconds: Self.start + 300)
        try await Task.sleep(for: .milliseconds(100))
        #expect(patcher.calls.count == 1, "a second write within one second must wait")
        clock.advance(to: Self.start + 1000)
        #expect(await eventually(within: .seconds(30), every: .milliseconds(10)) { patcher.calls.count == 2 })
        #expect(patcher.calls.last?.annotations["energy.thesis.io/current-watts"] == "30.00")
        running.cancel()
        _ = await running.result
    }

    @Test("a hanging API server never blocks offer or other nodes; only the latest value is written")
    func hangingServer() async throws {
        let clock = ManualClock(now: Self.start)
        let patcher = RecordingPatcher()
        patcher.hold("tvpc")
        let results = Mutex<[String: Int]>([:])
        let publisher = AnnotationPublisher(
            nodes: ["tvpc", "rpi"], prefix: "p.io", policy: AnnotationPolicy(), patcher: patcher, clock: clock,
            logger: Logger(label: "test"),
            onResult: { node, result in results.withLock { $0["\(node) \(result)", default: 0] += 1 } })
        let running = Task { try await publisher.run() }
        defer {
            patcher.releaseAll()
            running.cancel()
        }

        publisher.offer(node: "tvpc", watts: 100, timestampMilliseconds: Self.start)
        #expect(await eventually(within: .seconds(30), every: .milliseconds(10)) { patcher.calls.count == 1 })
        // Thousands of samples while the write hangs: each offer only replaces the pending value.
        for index in 1...5000 {
            publisher.offer(node: "tvpc", watts: 100 + Double(index), timestampMilliseconds: Self.start + Int64(index))
        }
        publisher.offer(node: "rpi", watts: 2.3, timestampMilliseconds: Self.start)
        #expect(await eventually(within: .seconds(30), every: .milliseconds(10)) { patcher.calls.contains { $0.node == "rpi" } })
        #expect(publisher.schedule(of: "tvpc")?.pending?.watts == 5100)

        clock.advance(to: Self.start + 1000)
        patcher.releaseAll()
        #expect(await eventually(within: .seconds(30), every: .milliseconds(10)) { patcher.calls.filter { $0.node == "tvpc" }.count == 2 })
        #expect(patcher.calls.last { $0.node == "tvpc" }?.annotations["p.io/current-watts"] == "5100.00")
        #expect(await eventually(within: .seconds(30), every: .milliseconds(10)) { results.withLock { $0 } == ["tvpc ok": 2, "tvpc skipped": 4999, "rpi ok": 1] })
        running.cancel()
        _ = await running.result
    }
}

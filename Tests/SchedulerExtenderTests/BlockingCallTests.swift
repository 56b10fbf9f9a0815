import Dispatch
import Synchronization
import TestSupport
import Testing

@testable import SchedulerExtender

@Suite("Blocking calls off the cooperative pool")
struct BlockingCallTests {
    @Test("work that finishes in time gives its result")
    func inTime() async {
        let queue = DispatchQueue(label: "test.blocking")
        #expect(await BlockingCall.run(on: queue, timeout: .seconds(30)) { 42 } == 42)
    }

    @Test("work that hangs: nil once the time is up, and the work still finishes on its own")
    func timeout() async throws {
        let queue = DispatchQueue(label: "test.blocking")
        let release = DispatchSemaphore(value: 0)
        let finished = Mutex(false)
        let result = await BlockingCall.run(on: queue, timeout: .milliseconds(100)) {
            release.wait()
            finished.withLock { $0 = true }
            return 1
        }
        #expect(result == nil)
        #expect(!finished.withLock { $0 })
        release.signal()
        #expect(await eventually { finished.withLock { $0 } })
    }

    @Test("a cancelled caller gets nil at once, long before the time bound")
    func cancelled() async throws {
        let queue = DispatchQueue(label: "test.blocking")
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }
        let call = Task { await BlockingCall.run(on: queue, timeout: .seconds(3600)) { release.wait() } != nil }
        try await Task.sleep(for: .milliseconds(50))
        call.cancel()
        let finished = try await withTimeout(.seconds(10), "the cancelled call to return") { await call.value }
        #expect(!finished)
    }

    @Test("a call cancelled before it starts returns nil without waiting")
    func cancelledEarly() async throws {
        let queue = DispatchQueue(label: "test.blocking")
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await BlockingCall.run(on: queue, timeout: .seconds(3600)) { release.wait() } != nil
        }
        let finished = try await withTimeout(.seconds(10), "the cancelled call to return") { await call.value }
        #expect(!finished)
    }
}

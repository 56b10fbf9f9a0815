import EnergyModel
import Exporter
import Logging
import ShellyPoller
import Store
import Synchronization
import Testing
import TestSupport

@testable import MonitorService

/// A store that fails while told to, and keeps what it commits and how many samples each
/// write was handed.
final class FlakyTickStore: TickStore {
    private struct State {
        var failing = false
        var committed: [Sample] = []
        var handed: [(samples: Int, failed: Bool)] = []
    }

    private let state = Mutex(State())

    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }

    var committed: [Sample] { state.withLock { $0.committed } }
    var handed: [(samples: Int, failed: Bool)] { state.withLock { $0.handed } }

    func write(
        samples: [Sample], counters: [String: EnergyCounters], backfill: [String: [BackfillPart]]
    ) async throws(StoreError) {
        let failed = state.withLock { state -> Bool in
            state.handed.append((samples.count, state.failing))
            if !state.failing { state.committed += samples }
            return state.failing
        }
        if failed { throw StoreError(code: 13, message: "database or disk is full") }
    }

    func rewind(toMilliseconds mark: Int64) async throws(StoreError) -> EnergyStore.Rewind {
        state.withLock { state -> EnergyStore.Rewind in
            let before = state.committed.count
            state.committed.removeAll { $0.timestampMilliseconds >= mark }
            return EnergyStore.Rewind(samples: before - state.committed.count, newestMilliseconds: nil)
        }
    }
}

@Suite("Store consumer: the backlog of a store outage")
struct StoreTickConsumerTests {
    static let nodes = ["a", "b"]

    /// Tick `index`: one sample per node at `index` seconds.
    static func tick(_ index: Int) -> Tick {
        let time = 1_700_000_000_000 + Int64(index) * 1000
        let samples = nodes.map { Sample(node: $0, timestampMilliseconds: time, reading: Reading(watts: Double(index))) }
        return Tick(
            report: TickReport(tickMilliseconds: time, startLatencyMilliseconds: 0, skippedTicks: 0, outcomes: []),
            samples: samples, failures: [:], counters: [:]
        )
    }

    /// The estimated bytes of one tick as `tick(_:)` makes it.
    static let tickBytes = SampleBacklog.estimatedBytes(of: tick(0).samples)

    static func make(store: FlakyTickStore, bound: Int, drain: Int = 20_000) -> (StoreTickConsumer, MonitorMetrics, LogRecorder) {
        let recorder = LogRecorder()
        let metrics = MonitorMetrics(nodes: nodes, counters: [:], annotations: false)
        let consumer = StoreTickConsumer(
            store: store, metrics: metrics, logger: Logger(label: "test") { _ in recorder }, maxBacklogBytes: bound,
            drainSamplesPerWrite: drain
        )
        return (consumer, metrics, recorder)
    }

    static func dropped(_ metrics: MonitorMetrics) -> String? {
        String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix("energy_monitor_samples_dropped_total ") }.map(String.init)
    }

    @Test("a tiny bound: the oldest ticks are dropped and counted, failed ticks cost one tick each, the rest arrives in order")
    func tinyBound() async throws {
        let store = FlakyTickStore()
        let keptTicks = 10
        let (consumer, metrics, recorder) = Self.make(store: store, bound: keptTicks * Self.tickBytes)
        #expect(Self.dropped(metrics) == "energy_monitor_samples_dropped_total 0")
        for index in 0..<5 { await consumer.consume(Self.tick(index)) }
        store.failing = true
        let outage = 5..<205
        for index in outage { await consumer.consume(Self.tick(index)) }
        // While the store fails, each tick hands it the oldest waiting tick only, from the
        // first failed tick to the last: the work does not grow with the outage.
        let failed = store.handed.filter(\.failed)
        #expect(failed.count == outage.count)
        #expect(failed.allSatisfy { $0.samples == Self.nodes.count }, "\(failed.map(\.samples).suffix(5))")
        #expect(consumer.backlog.ticks == keptTicks)
        #expect(consumer.backlog.bytes <= keptTicks * Self.tickBytes)
        #expect(consumer.status.storeError?.contains("disk is full") == true)

        store.failing = false
        for index in 205..<210 { await consumer.consume(Self.tick(index)) }
        #expect(consumer.backlog.ticks == 0)
        #expect(consumer.status.storeError == nil)
        // Kept: every tick before the outage, the outage's last ticks and everything after,
        // in time order, every node of every kept tick, nothing twice. (The tick that found
        // the store writable again joined a full backlog too, and pushed one more out.)
        let firstKept = outage.upperBound - keptTicks + 1
        let expected = (Array(0..<5) + Array(firstKept..<210)).flatMap { Self.tick($0).samples }
        #expect(store.committed == expected)
        let droppedSamples = (firstKept - outage.lowerBound) * Self.nodes.count
        #expect(Self.dropped(metrics) == "energy_monitor_samples_dropped_total \(droppedSamples)")
        // Each of these is logged once for the whole outage.
        for message in ["store write failed", "store backlog full", "store writable again", "store backlog written"] {
            let lines = recorder.entries.filter { $0.message.hasPrefix(message) }
            #expect(lines.count == 1, "\(message): \(lines.count) lines")
        }
        #expect(recorder.entries.first { $0.message.hasPrefix("store backlog written") }?.metadata["dropped"] == "\(droppedSamples)")
    }

    @Test("after an outage the backlog is written oldest first in bounded chunks, then each tick on its own")
    func boundedDrain() async throws {
        let store = FlakyTickStore()
        let (consumer, _, _) = Self.make(store: store, bound: 1 << 20, drain: 6)
        store.failing = true
        for index in 0..<40 { await consumer.consume(Self.tick(index)) }
        #expect(consumer.backlog.ticks == 40)
        store.failing = false
        var ticks = 40
        while consumer.backlog.ticks > 1 {
            await consumer.consume(Self.tick(ticks))
            ticks += 1
            guard ticks < 100 else {
                Issue.record("the backlog does not drain")
                break
            }
        }
        await consumer.consume(Self.tick(ticks))
        let written = store.handed.filter { !$0.failed }.map(\.samples)
        // The first write is the probe (one tick), then at most 6 samples, or twice a tick.
        #expect(written.first == Self.nodes.count)
        #expect(written.allSatisfy { $0 <= 6 }, "\(written)")
        #expect(written.last == Self.nodes.count)
        #expect(store.committed == (0...ticks).flatMap { Self.tick($0).samples })
    }

    @Test("a shutdown writes what still waits")
    func shutdownDrain() async throws {
        let store = FlakyTickStore()
        let (consumer, _, _) = Self.make(store: store, bound: 1 << 20, drain: 4)
        store.failing = true
        for index in 0..<30 { await consumer.consume(Self.tick(index)) }
        await consumer.drain()
        #expect(consumer.backlog.ticks == 30, "a failing store keeps the backlog")
        store.failing = false
        await consumer.drain()
        #expect(consumer.backlog.ticks == 0)
        #expect(store.committed == (0..<30).flatMap { Self.tick($0).samples })
    }

    @Test("the ring keeps ticks in order across wrap-around, growth and drops")
    func ring() {
        var backlog = SampleBacklog(maxBytes: 50 * Self.tickBytes)
        var expected: [Int] = []
        var next = 0
        for round in 0..<200 {
            for _ in 0..<(round % 7 + 1) {
                backlog.append(Self.tick(next).samples)
                expected.append(next)
                next += 1
            }
            if expected.count > 50 { expected.removeFirst(expected.count - 50) }
            let (samples, ticks) = backlog.oldest(maxSamples: round % 5 * 2)
            #expect(samples == expected.prefix(ticks).flatMap { Self.tick($0).samples })
            if round % 3 == 0 {
                backlog.removeOldest(ticks)
                expected.removeFirst(ticks)
            }
            #expect(backlog.count == expected.count)
            #expect(backlog.sampleCount == expected.count * Self.nodes.count)
            #expect(backlog.bytes == expected.count * Self.tickBytes)
        }
    }

    @Test("a rewind takes the samples from the mark on out of the backlog, in the store too, and keeps the rest in order")
    func rewind() async throws {
        let store = FlakyTickStore()
        let consumer = StoreTickConsumer(
            store: store, metrics: MonitorMetrics(nodes: Self.nodes, counters: [:], annotations: false),
            logger: Logger(label: "test"))
        store.failing = true
        for index in 0..<10 { await consumer.consume(Self.tick(index)) }
        let mark = Self.tick(6).samples[0].timestampMilliseconds
        let forgotten = try await consumer.rewind(to: mark)
        #expect(forgotten.samples == 4 * Self.nodes.count)
        #expect(consumer.backlog.samples == 6 * Self.nodes.count)
        store.failing = false
        await consumer.drain()
        #expect(store.committed == (0..<6).flatMap { Self.tick($0).samples })
    }

    @Test("the byte estimate counts the array's reserved elements and names stored outside the string")
    func estimate() {
        var samples: [Sample] = []
        samples.reserveCapacity(100)
        samples.append(Sample(node: "tvpc", timestampMilliseconds: 0, reading: Reading(watts: 1)))
        let short = SampleBacklog.estimatedBytes(of: samples)
        #expect(short >= 100 * MemoryLayout<Sample>.stride + 32)
        let name = "worker-node-17.cluster.example.org"
        let long = [Sample(node: name, timestampMilliseconds: 0, reading: Reading(watts: 1))]
        let inline = [Sample(node: "tvpc", timestampMilliseconds: 0, reading: Reading(watts: 1))]
        #expect(SampleBacklog.estimatedBytes(of: long) - SampleBacklog.estimatedBytes(of: inline) >= 32 + name.utf8.count)
    }
}

import EnergyModel

/// The ticks waiting in memory while the store cannot write, oldest first, bounded in bytes:
/// appending a tick drops the oldest ticks while the estimate is over the bound.
///
/// The ticks live in a ring, so appending, dropping the oldest and removing written ticks
/// cost the same however long the backlog is: a tick late in a long outage costs what one
/// in its first second does, and no operation moves the whole backlog.
public struct SampleBacklog: Sendable {
    /// One tick's samples and the bytes they hold.
    struct Batch: Sendable {
        var samples: [Sample]
        var bytes: Int
    }

    /// The bound, in estimated bytes.
    public let maxBytes: Int
    /// The ring: `count` ticks from `head`, wrapping around; free slots are nil.
    private var slots: [Batch?] = Array(repeating: nil, count: 16)
    private var head = 0
    /// Ticks held.
    public private(set) var count = 0
    /// Estimated bytes held.
    public private(set) var bytes = 0
    /// Samples held.
    public private(set) var sampleCount = 0

    /// An empty backlog that holds at most `maxBytes` (estimated), beyond the newest tick.
    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// Whether no tick waits.
    public var isEmpty: Bool { count == 0 }

    /// Appends one tick's samples (nothing for a tick without samples); then, while over the
    /// bound, drops the oldest ticks, never the one just appended. Returns the samples dropped.
    @discardableResult
    public mutating func append(_ samples: [Sample]) -> Int {
        guard !samples.isEmpty else { return 0 }
        if count == slots.count { grow() }
        let batch = Batch(samples: samples, bytes: Self.estimatedBytes(of: samples))
        slots[(head + count) % slots.count] = batch
        count += 1
        bytes += batch.bytes
        sampleCount += samples.count
        var dropped = 0
        while bytes > maxBytes, count > 1 {
            dropped += removeFirstTick()
        }
        return dropped
    }

    /// The oldest ticks' samples as one array, in order: as many whole ticks as fit in
    /// `maxSamples`, but at least the oldest; and the number of ticks they are.
    public func oldest(maxSamples: Int) -> (samples: [Sample], ticks: Int) {
        guard let first = slots[head] else { return ([], 0) }
        var ticks = 1
        var total = first.samples.count
        while ticks < count, let next = slots[(head + ticks) % slots.count], total + next.samples.count <= maxSamples {
            total += next.samples.count
            ticks += 1
        }
        guard ticks > 1 else { return (first.samples, 1) }
        var samples: [Sample] = []
        samples.reserveCapacity(total)
        for offset in 0..<ticks {
            if let batch = slots[(head + offset) % slots.count] { samples.append(contentsOf: batch.samples) }
        }
        return (samples, ticks)
    }

    /// Removes every sample stamped at or after `mark` (unix milliseconds), keeping the ticks'
    /// order; returns how many went. For a wall clock set back: what it stamped ahead must not
    /// reach the store after the store forgot those times.
    @discardableResult
    public mutating func removeSamples(atOrAfter mark: Int64) -> Int {
        var kept: [[Sample]] = []
        var removed = 0
        for offset in 0..<count {
            guard let batch = slots[(head + offset) % slots.count] else { continue }
            let remaining = batch.samples.filter { $0.timestampMilliseconds < mark }
            removed += batch.samples.count - remaining.count
            if !remaining.isEmpty { kept.append(remaining) }
        }
        guard removed > 0 else { return 0 }
        slots = Array(repeating: nil, count: 16)
        head = 0
        count = 0
        bytes = 0
        sampleCount = 0
        for samples in kept { _ = append(samples) }
        return removed
    }

    /// Removes the `ticks` oldest ticks (once they are written).
    public mutating func removeOldest(_ ticks: Int) {
        for _ in 0..<min(ticks, count) { _ = removeFirstTick() }
        if count == 0, slots.count > 1024 {
            // An outage's ring is given back once it is written.
            slots = Array(repeating: nil, count: 16)
            head = 0
        }
    }

    private mutating func removeFirstTick() -> Int {
        guard let batch = slots[head] else { return 0 }
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        bytes -= batch.bytes
        sampleCount -= batch.samples.count
        return batch.samples.count
    }

    /// Doubles the ring, the ticks in order from slot 0: O(ticks), once per doubling.
    private mutating func grow() {
        var larger = [Batch?](repeating: nil, count: slots.count * 2)
        for offset in 0..<count { larger[offset] = slots[(head + offset) % slots.count] }
        slots = larger
        head = 0
    }

    /// What one tick's samples hold in memory: the array's heap block (its 32-byte header and
    /// every reserved element, not just the used ones), the heap storage of each node name
    /// too long to be stored inline in the `String` (over 15 UTF-8 bytes: counted for every
    /// sample, an upper bound, as the poller's samples of one node share their name's
    /// storage), and two slots of the ring (which is up to half empty after growing).
    public static func estimatedBytes(of samples: [Sample]) -> Int {
        var bytes = heapBlockBytes(32 + samples.capacity * MemoryLayout<Sample>.stride) + 2 * MemoryLayout<Batch?>.stride
        for sample in samples {
            let length = sample.node.utf8.count
            // A native string's storage: 32 bytes of header, the bytes and a NUL.
            if length > 15 { bytes += heapBlockBytes(32 + length + 1) }
        }
        return bytes
    }

    /// The bytes malloc takes for a request: 8 bytes of its own, rounded up to 16, 32 at least.
    static func heapBlockBytes(_ requested: Int) -> Int {
        max(32, (requested + 8 + 15) / 16 * 16)
    }
}

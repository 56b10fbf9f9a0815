/// A figure that changes in steps, as grid operators publish carbon intensity: each value is
/// in force from its time until the next value's time; the last one stays in force. Before the
/// first value the figure is unknown (nil), never 0.
public struct StepSeries: Sendable, Equatable {
    /// One value and the time it comes into force.
    public struct Step: Sendable, Equatable {
        /// When the value comes into force, unix milliseconds.
        public var startMilliseconds: Int64
        /// The value.
        public var value: Double

        /// A step at `startMilliseconds`.
        public init(startMilliseconds: Int64, value: Double) {
            self.startMilliseconds = startMilliseconds
            self.value = value
        }
    }

    /// The steps, oldest first, each start once.
    public private(set) var steps: [Step]

    /// A series of `steps` in any order; of two steps at one time the later given wins (a
    /// corrected figure published after the first).
    public init(steps: [Step]) {
        // Sorted by time, and among equal times in the order given, so that the last one given stays.
        let ordered = steps.enumerated().sorted {
            ($0.element.startMilliseconds, $0.offset) < ($1.element.startMilliseconds, $1.offset)
        }
        var kept: [Step] = []
        for (_, step) in ordered {
            if kept.last?.startMilliseconds == step.startMilliseconds { kept.removeLast() }
            kept.append(step)
        }
        self.steps = kept
    }

    /// One value in force at every time.
    public static func constant(_ value: Double) -> StepSeries {
        StepSeries(steps: [Step(startMilliseconds: .min, value: value)])
    }

    /// Whether the series has no value at all.
    public var isEmpty: Bool { steps.isEmpty }

    /// The value in force at `time`, or nil before the first step.
    public func value(at time: Int64) -> Double? {
        let index = lastIndex(atOrBefore: time)
        return index.map { steps[$0].value }
    }

    /// The times strictly inside `(from, to)` at which the value changes, oldest first.
    public func changes(after from: Int64, before to: Int64) -> [Int64] {
        guard to > from else { return [] }
        var index = (lastIndex(atOrBefore: from) ?? -1) + 1
        var times: [Int64] = []
        while index < steps.count, steps[index].startMilliseconds < to {
            times.append(steps[index].startMilliseconds)
            index += 1
        }
        return times
    }

    /// The index of the last step starting at or before `time`.
    private func lastIndex(atOrBefore time: Int64) -> Int? {
        var low = 0
        var high = steps.count
        while low < high {
            let middle = (low + high) / 2
            if steps[middle].startMilliseconds <= time { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }
}

/// A running sum with Neumaier's compensation: summing thousands of pods' shares loses no
/// more than a rounding step, so the remainder terms keep the energy balance exact.
struct CompensatedSum {
    private var sum = 0.0
    private var compensation = 0.0

    /// Adds `value` (finite).
    mutating func add(_ value: Double) {
        let total = sum + value
        if abs(sum) >= abs(value) {
            compensation += (sum - total) + value
        } else {
            compensation += (value - total) + sum
        }
        sum = total
    }

    /// The sum so far.
    var value: Double { sum + compensation }
}

/// The package's conversions of floating-point values to integers. A plain `Int64(x)` traps
/// when `x` is NaN, infinite or out of range, and one trap ends polling for every node, so
/// every such conversion goes through one of these (the test suite fails on a plain one).
extension FixedWidthInteger {
    /// `value` rounded by `rule`, or nil when it is NaN, infinite or outside this type's range.
    public init?(rounding value: Double, _ rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) {
        guard let exact = Self(exactly: value.rounded(rule)) else { return nil }
        self = exact
    }

    /// `value` rounded by `rule` and clamped to this type's range; NaN gives 0. For values
    /// that are bounded by construction (a jitter, a share of a window) or where the bound is
    /// the right answer (a `Retry-After` of 10^16 seconds waits as long as allowed).
    public init(clampingRounding value: Double, _ rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) {
        let rounded = value.rounded(rule)
        if rounded.isNaN {
            self = 0
        } else if rounded >= Double(Self.max) {
            self = .max
        } else if rounded <= Double(Self.min) {
            self = .min
        } else {
            // In range: Double(max) rounds up to a power of two, so `rounded` is below it.
            self = Self(exactly: rounded) ?? 0
        }
    }
}

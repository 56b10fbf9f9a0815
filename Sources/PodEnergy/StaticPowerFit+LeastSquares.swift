extension StaticPowerFit {
    /// A fitted curve read at zero usage.
    struct Fit: Equatable {
        /// Power at zero usage, clamped into [0, lowest observed watts].
        var intercept: Double
        /// Slope at zero usage, watts per core, at least 0.
        var slope: Double
        /// Root mean square of the residuals of the fitted curve (before the clamp), watts.
        var rmsError: Double
        /// Whether the concave quadratic was taken (else the straight line).
        var quadratic: Bool
    }

    /// The fit of `samples`, or nil when their usage spreads less than `minimumSpread` cores or
    /// even the straight line cannot be solved.
    ///
    /// Usage is centred on its mean and divided by its largest distance from it, and power is
    /// centred on its mean, so the normal equations stay well conditioned whatever the units
    /// and offsets; the curve is read back at u = 0 from the centred form.
    static func fit(_ samples: ArraySlice<Sample>, minimumSpread: Double) -> Fit? {
        guard samples.count >= 2 else { return nil }
        var lowest = Double.infinity
        var highest = -Double.infinity
        var lowestWatts = Double.infinity
        var usageSum = CompensatedSum()
        var wattsSum = CompensatedSum()
        for sample in samples {
            lowest = min(lowest, sample.cpuCores)
            highest = max(highest, sample.cpuCores)
            lowestWatts = min(lowestWatts, sample.watts)
            usageSum.add(sample.cpuCores)
            wattsSum.add(sample.watts)
        }
        guard highest - lowest >= minimumSpread, highest > lowest else { return nil }
        let count = Double(samples.count)
        let meanUsage = usageSum.value / count
        let meanWatts = wattsSum.value / count
        let scale = max(highest - meanUsage, meanUsage - lowest)
        guard scale > 0, scale.isFinite, meanWatts.isFinite else { return nil }

        // Σ xᵏ for k = 0...4 and Σ xᵏ·y for k = 0...2.
        var powers = [CompensatedSum](repeating: CompensatedSum(), count: 5)
        var moments = [CompensatedSum](repeating: CompensatedSum(), count: 3)
        for sample in samples {
            let x = (sample.cpuCores - meanUsage) / scale
            let y = sample.watts - meanWatts
            var power = 1.0
            for k in 0..<5 {
                powers[k].add(power)
                if k < 3 { moments[k].add(power * y) }
                power *= x
            }
        }
        let p = powers.map(\.value)
        let m = moments.map(\.value)
        let zero = -meanUsage / scale

        func evaluate(_ coefficients: [Double]) -> Fit? {
            let alpha = coefficients[0]
            let beta = coefficients[1]
            let gamma = coefficients.count > 2 ? coefficients[2] : 0
            var squares = CompensatedSum()
            for sample in samples {
                let x = (sample.cpuCores - meanUsage) / scale
                let residual = sample.watts - meanWatts - (alpha + beta * x + gamma * x * x)
                squares.add(residual * residual)
            }
            let intercept = meanWatts + alpha + beta * zero + gamma * zero * zero
            let slope = (beta + 2 * gamma * zero) / scale
            let rms = (max(0, squares.value) / count).squareRoot()
            guard intercept.isFinite, slope.isFinite, rms.isFinite else { return nil }
            return Fit(
                intercept: min(max(intercept, 0), lowestWatts), slope: max(0, slope), rmsError: rms,
                quadratic: coefficients.count > 2)
        }

        let quadratic = solve(
            [[p[0], p[1], p[2]], [p[1], p[2], p[3]], [p[2], p[3], p[4]]], [m[0], m[1], m[2]])
        if let quadratic, quadratic[2] <= 0, let fit = evaluate(quadratic) { return fit }
        if let linear = solve([[p[0], p[1]], [p[1], p[2]]], [m[0], m[1]]) { return evaluate(linear) }
        return nil
    }

    /// The solution of `matrix` · v = `rhs` by Gaussian elimination with partial pivoting, or
    /// nil when the system is singular: a pivot below 1e-9 of the matrix's largest entry (the
    /// quadratic's is when usage takes only two values).
    static func solve(_ matrix: [[Double]], _ rhs: [Double]) -> [Double]? {
        var a = matrix
        var b = rhs
        let size = b.count
        let largest = a.joined().map(abs).max() ?? 0
        guard largest > 0, largest.isFinite else { return nil }
        for column in 0..<size {
            var pivot = column
            for row in column..<size where abs(a[row][column]) > abs(a[pivot][column]) { pivot = row }
            guard abs(a[pivot][column]) > 1e-9 * largest else { return nil }
            a.swapAt(column, pivot)
            b.swapAt(column, pivot)
            for row in (column + 1)..<size {
                let factor = a[row][column] / a[column][column]
                for entry in column..<size { a[row][entry] -= factor * a[column][entry] }
                b[row] -= factor * b[column]
            }
        }
        var solution = [Double](repeating: 0, count: size)
        for row in stride(from: size - 1, through: 0, by: -1) {
            var value = b[row]
            for entry in (row + 1)..<size { value -= a[row][entry] * solution[entry] }
            solution[row] = value / a[row][row]
        }
        return solution.allSatisfy(\.isFinite) ? solution : nil
    }
}

/// Splits a node's measured energy over one window among its pods.
///
/// The measured energy has a static part, the node's static power over the covered time (at
/// most what was measured), and a dynamic part, the rest. The dynamic part follows CPU usage:
/// pod i gets dynamic × uᵢ / D with D = max(node usage, Σ uᵢ), and the system (kubelet,
/// container runtime, operating system) gets the usage no pod accounts for, dynamic ×
/// (D − Σ uᵢ) / D. The static part follows the `StaticPowerPolicy`; what no pod gets is idle.
///
/// Inputs are read defensively, since they come from plugs and the metrics API: a negative or
/// non-finite measured energy, static power, request or allocatable figure counts as zero, a
/// negative or non-finite CPU figure as absent, and the covered time is clamped to the
/// window. Every output is finite, and the parts add up to the measured energy within a few
/// rounding steps (the system and idle parts are remainders of compensated sums).
public enum PodAttribution {
    /// The attribution of `window` under `policy`.
    public static func attribute(_ window: NodeWindow, policy: StaticPowerPolicy) -> NodeAttribution {
        let length = windowLength(window)
        let covered = min(max(window.coveredMilliseconds, 0), length)
        let coverage = length > 0 ? min(1, Double(covered) / Double(length)) : 0
        let coveredSeconds = Double(covered) / 1000

        let measured = nonNegative(window.measuredJoules) ?? 0
        let staticWatts = nonNegative(window.staticWatts) ?? 0
        // A product beyond Double's range is infinite, and min() then keeps the measured figure.
        let staticPart = min(measured, staticWatts * coveredSeconds)
        let dynamicPart = max(0, measured - staticPart)

        var result = NodeAttribution(
            node: window.node, fromMilliseconds: window.fromMilliseconds, toMilliseconds: window.toMilliseconds,
            pods: [], systemJoules: dynamicPart, idleJoules: staticPart, staticJoules: staticPart,
            dynamicJoules: dynamicPart, measuredJoules: measured, coveredMilliseconds: covered, coverage: coverage,
            attributed: false)
        // Without the node's usage there is no denominator: a gap, never a guess.
        guard let nodeCores = window.nodeCPUCores.flatMap(nonNegative) else { return result }

        let dynamicShares = dynamicSplit(dynamicPart, nodeCores: nodeCores, pods: window.pods)
        let staticShares = staticSplit(
            staticPart, policy: policy, allocatableCores: nonNegative(window.allocatableCores) ?? 0, pods: window.pods)
        var podsDynamic = CompensatedSum()
        var podsStatic = CompensatedSum()
        var shares: [PodShare] = []
        shares.reserveCapacity(window.pods.count)
        for (index, pod) in window.pods.enumerated() {
            let cores = pod.cpuCores.flatMap(nonNegative) ?? 0
            podsDynamic.add(dynamicShares[index])
            podsStatic.add(staticShares[index])
            shares.append(
                PodShare(
                    namespace: pod.namespace, name: pod.name, uid: pod.uid,
                    cpuSeconds: min(cores * coveredSeconds, .greatestFiniteMagnitude),
                    dynamicJoules: dynamicShares[index], staticJoules: staticShares[index]))
        }
        result.pods = shares
        result.systemJoules = max(0, dynamicPart - podsDynamic.value)
        result.idleJoules = max(0, staticPart - podsStatic.value)
        result.attributed = true
        return result
    }

    /// Each pod's part of `dynamic`, in the order of `pods`.
    ///
    /// Usage figures are divided by the largest of them first, so that their sum stays finite
    /// however large they are; the ratios are the same.
    static func dynamicSplit(_ dynamic: Double, nodeCores: Double, pods: [PodUsage]) -> [Double] {
        let usages = pods.map { $0.cpuCores.flatMap(nonNegative) ?? 0 }
        let scale = max(nodeCores, usages.max() ?? 0)
        guard scale > 0, dynamic > 0 else { return Array(repeating: 0, count: pods.count) }
        var sum = CompensatedSum()
        for usage in usages { sum.add(usage / scale) }
        let denominator = max(nodeCores / scale, sum.value)
        guard denominator > 0 else { return Array(repeating: 0, count: pods.count) }
        return usages.map { dynamic * min(1, (($0 / scale) / denominator)) }
    }

    /// Each pod's part of `staticPart` under `policy`, in the order of `pods`.
    static func staticSplit(
        _ staticPart: Double, policy: StaticPowerPolicy, allocatableCores: Double, pods: [PodUsage]
    ) -> [Double] {
        var shares = Array(repeating: 0.0, count: pods.count)
        guard staticPart > 0 else { return shares }
        switch policy {
        case .none:
            break
        case .even:
            let running = pods.reduce(0) { $0 + ($1.running ? 1 : 0) }
            guard running > 0 else { break }
            let share = staticPart / Double(running)
            for (index, pod) in pods.enumerated() where pod.running { shares[index] = share }
        case .requests:
            let requests = pods.map { $0.running ? nonNegative($0.requestCores) ?? 0 : 0 }
            // Scaled as in `dynamicSplit`, so that huge requests cannot make the sum infinite.
            let scale = max(allocatableCores, requests.max() ?? 0)
            guard scale > 0 else { break }
            var sum = CompensatedSum()
            for request in requests { sum.add(request / scale) }
            let denominator = max(allocatableCores / scale, sum.value)
            guard denominator > 0 else { break }
            for (index, request) in requests.enumerated() {
                shares[index] = staticPart * min(1, (request / scale) / denominator)
            }
        }
        return shares
    }

    /// The window's length in milliseconds: 0 when it ends before it starts, Int64.max when
    /// the difference overflows.
    static func windowLength(_ window: NodeWindow) -> Int64 {
        let (difference, overflow) = window.toMilliseconds.subtractingReportingOverflow(window.fromMilliseconds)
        if overflow { return window.toMilliseconds > window.fromMilliseconds ? .max : 0 }
        return max(0, difference)
    }

    /// `value` when it is finite and not negative, else nil.
    static func nonNegative(_ value: Double) -> Double? {
        value.isFinite && value >= 0 ? value : nil
    }
}

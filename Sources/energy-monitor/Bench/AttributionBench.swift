import Foundation
import PodEnergy

#if canImport(Glibc)
    import Glibc
#endif

/// `bench --attribution`: what splitting each node's energy among its pods costs per metrics
/// window, at `--attribution-pods` pods spread evenly over `--attribution-nodes` nodes, in
/// this process:
///
/// * CPU time of one window (every node's `PodAttribution.attribute`, all policies in turn),
///   from the thread's CPU clock, over `--attribution-windows` windows;
/// * resident memory before the inputs, with them, and at the peak while attributing (the
///   peak is reset first through `/proc/self/clear_refs`, so earlier figures do not count);
/// * the static power fit of one node at 24 h of 15 s windows (5,760 samples): CPU time per
///   added sample and per estimate, and the resident memory of one fit per node.
///
/// Every window is checked for balance (pods, system and idle add up to the measured energy)
/// and the largest difference is printed, so that a wrong split cannot pass for a fast one.
struct AttributionBench {
    /// The figures of one pod count.
    struct Figures {
        var pods: Int
        var nodes: Int
        var windows: Int
        var microsecondsPerWindow: Double
        var residentBeforeBytes: Int
        var residentWithInputsBytes: Int
        var peakResidentBytes: Int
        var largestImbalance: Double
    }

    /// The figures of the static power fit.
    struct FitFigures {
        var samples: Int
        var nodes: Int
        var nanosecondsPerAdd: Double
        var microsecondsPerEstimate: Double
        var residentBytes: Int
    }

    let podCounts: [Int]
    let nodes: Int
    let windows: Int

    /// Samples of a 24 h fit window at one sample per 15 s metrics window.
    static let fitSamples = 5760

    func run() -> (attribution: [Figures], fit: FitFigures) {
        (podCounts.map(measure(pods:)), measureFit())
    }

    /// One window's inputs: `pods` pods over the nodes, with varied usage and requests, a few
    /// of them without a usage figure or not running, as the metrics API reports them.
    static func makeWindows(pods: Int, nodes: Int) -> [NodeWindow] {
        (0..<nodes).map { node in
            let count = pods / nodes + (node < pods % nodes ? 1 : 0)
            let usages = (0..<count).map { (index: Int) -> PodUsage in
                let cores: Double? = index % 97 == 0 ? nil : Double((index * 37 + node) % 400) / 1000
                let requests = Double(index % 5) / 10
                return PodUsage(
                    namespace: "bench-\(index % 7)", name: "pod-\(node)-\(index)", uid: UUID().uuidString,
                    cpuCores: cores, requestCores: requests, running: index % 53 != 0)
            }
            return NodeWindow(
                node: "node-\(node)", fromMilliseconds: 1_700_000_000_000, toMilliseconds: 1_700_000_015_000,
                measuredJoules: 1500, coveredMilliseconds: 15_000, staticWatts: 30,
                nodeCPUCores: 1 + Double(count) * 0.25, allocatableCores: 64, pods: usages)
        }
    }

    private func measure(pods: Int) -> Figures {
        Self.resetPeakResident()
        let before = ProcessUsage.read(pid: getpid())?.residentBytes ?? 0
        let inputs = Self.makeWindows(pods: pods, nodes: nodes)
        let withInputs = ProcessUsage.read(pid: getpid())?.residentBytes ?? 0
        let policies = StaticPowerPolicy.allCases
        var largestImbalance = 0.0
        let began = Self.threadCPUNanoseconds()
        for index in 0..<windows {
            // A window's results are kept until the window is done, as a publisher holds them.
            var results: [NodeAttribution] = []
            results.reserveCapacity(inputs.count)
            for var window in inputs {
                window.measuredJoules = 1400 + Double(index % 200)
                results.append(PodAttribution.attribute(window, policy: policies[index % policies.count]))
            }
            for result in results {
                var total = result.systemJoules + result.idleJoules
                for pod in result.pods { total += pod.joules }
                largestImbalance = max(largestImbalance, abs(total - result.measuredJoules))
            }
        }
        let nanoseconds = Self.threadCPUNanoseconds() - began
        let peak = ProcessUsage.read(pid: getpid())?.peakResidentBytes ?? 0
        withExtendedLifetime(inputs) {}
        return Figures(
            pods: pods, nodes: nodes, windows: windows,
            microsecondsPerWindow: Double(nanoseconds) / 1000 / Double(max(1, windows)), residentBeforeBytes: before,
            residentWithInputsBytes: withInputs, peakResidentBytes: peak, largestImbalance: largestImbalance)
    }

    /// One fit per node filled with a day of samples; then as many again, so that adding
    /// forgets the oldest as the service's fit does at steady state.
    private func measureFit() -> FitFigures {
        let before = ProcessUsage.read(pid: getpid())?.residentBytes ?? 0
        var fits = (0..<nodes).map { _ in
            StaticPowerFit(windowMilliseconds: Int64(Self.fitSamples) * 15_000, startingWatts: 30, overrideWatts: nil)
        }
        func sample(_ index: Int, node: Int) -> (Int64, Double, Double) {
            let cores = Double((index * 7919 + node) % 800) / 100
            return (1_700_000_000_000 + Int64(index) * 15_000, cores, 30 + 15 * cores - 1.2 * cores * cores)
        }
        for node in fits.indices {
            for index in 0..<Self.fitSamples {
                let (time, cores, watts) = sample(index, node: node)
                fits[node].add(timestampMilliseconds: time, cpuCores: cores, watts: watts)
            }
        }
        let resident = (ProcessUsage.read(pid: getpid())?.residentBytes ?? 0) - before
        let addBegan = Self.threadCPUNanoseconds()
        for node in fits.indices {
            for index in Self.fitSamples..<(2 * Self.fitSamples) {
                let (time, cores, watts) = sample(index, node: node)
                fits[node].add(timestampMilliseconds: time, cpuCores: cores, watts: watts)
            }
        }
        let addNanoseconds = Self.threadCPUNanoseconds() - addBegan
        var watts = 0.0
        let estimateBegan = Self.threadCPUNanoseconds()
        for fit in fits { watts += fit.estimate.staticWatts ?? 0 }
        let estimateNanoseconds = Self.threadCPUNanoseconds() - estimateBegan
        withExtendedLifetime(watts) {}
        return FitFigures(
            samples: Self.fitSamples, nodes: fits.count,
            nanosecondsPerAdd: Double(addNanoseconds) / Double(max(1, fits.count * Self.fitSamples)),
            microsecondsPerEstimate: Double(estimateNanoseconds) / 1000 / Double(max(1, fits.count)),
            residentBytes: max(0, resident))
    }

    /// CPU time of the calling thread, nanoseconds: the bench runs without suspending, so the
    /// whole measurement is on one thread and other threads' work does not count.
    static func threadCPUNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Resets the process's peak resident memory (VmHWM) to its current resident memory.
    static func resetPeakResident() {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY)
        guard descriptor >= 0 else { return }
        _ = write(descriptor, "5", 1)
        close(descriptor)
    }
}

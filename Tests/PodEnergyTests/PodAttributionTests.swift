import PodEnergy
import TestSupport
import Testing

@Suite("Pod attribution")
struct PodAttributionTests {
    /// A pod with usage `cores`, requesting `requests`.
    static func pod(_ name: String, cores: Double?, requests: Double = 0, running: Bool = true) -> PodUsage {
        PodUsage(
            namespace: "default", name: name, uid: "uid-\(name)", cpuCores: cores, requestCores: requests,
            running: running)
    }

    /// A fully covered 15 s window: 1,500 J measured, 30 W static (450 J static, 1,050 J dynamic).
    static func window(
        nodeCores: Double?, pods: [PodUsage], measured: Double = 1500, staticWatts: Double = 30,
        covered: Int64 = 15_000, allocatable: Double = 4
    ) -> NodeWindow {
        NodeWindow(
            node: "node-a", fromMilliseconds: 1_700_000_000_000, toMilliseconds: 1_700_000_015_000,
            measuredJoules: measured, coveredMilliseconds: covered, staticWatts: staticWatts, nodeCPUCores: nodeCores,
            allocatableCores: allocatable, pods: pods)
    }

    /// Σ pods' joules + system + idle against the measured energy, relative to max(1, measured).
    /// Each term is scaled before it is added, so a sum near Double's largest value stays finite.
    static func imbalance(_ result: NodeAttribution) -> Double {
        let scale = max(1, result.measuredJoules)
        var total = result.systemJoules / scale + result.idleJoules / scale
        for pod in result.pods { total += pod.dynamicJoules / scale + pod.staticJoules / scale }
        return abs(total - result.measuredJoules / scale)
    }

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(a), abs(b))
    }

    @Test("a pod alone gets all dynamic energy when node usage equals its usage")
    func alone() throws {
        let result = PodAttribution.attribute(Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 2)]), policy: .none)
        #expect(result.attributed)
        #expect(result.staticJoules == 450 && result.dynamicJoules == 1050)
        let share = try #require(result.pods.first)
        #expect(Self.close(share.dynamicJoules, 1050))
        #expect(share.staticJoules == 0)
        #expect(share.cpuSeconds == 30)
        #expect(result.systemJoules < 1e-9)
        #expect(result.idleJoules == 450)
        #expect(Self.imbalance(result) <= 1e-9)
    }

    @Test("two identical pods get equal shares; usage no pod accounts for goes to the system")
    func identicalPods() {
        let result = PodAttribution.attribute(
            Self.window(
                nodeCores: 5, pods: [Self.pod("a", cores: 2, requests: 1), Self.pod("b", cores: 2, requests: 1)]),
            policy: .requests)
        #expect(result.pods.count == 2)
        #expect(result.pods[0].dynamicJoules == result.pods[1].dynamicJoules)
        #expect(result.pods[0].staticJoules == result.pods[1].staticJoules)
        #expect(Self.close(result.pods[0].dynamicJoules, 1050 * 2 / 5))
        #expect(Self.close(result.systemJoules, 1050 * 1 / 5))
        #expect(Self.imbalance(result) <= 1e-9)
    }

    @Test("unaccounted usage goes to the system; pods using more than the node's figure share all of it")
    func system() {
        let partial = PodAttribution.attribute(
            Self.window(nodeCores: 4, pods: [Self.pod("a", cores: 1)]), policy: .none)
        #expect(Self.close(partial.pods[0].dynamicJoules, 1050 / 4))
        #expect(Self.close(partial.systemJoules, 1050 * 3 / 4))
        // Metrics of pods and node are scraped apart: the pods' sum can exceed the node's figure.
        let over = PodAttribution.attribute(
            Self.window(nodeCores: 1, pods: [Self.pod("a", cores: 1), Self.pod("b", cores: 2)]), policy: .none)
        #expect(Self.close(over.pods[0].dynamicJoules, 350))
        #expect(Self.close(over.pods[1].dynamicJoules, 700))
        #expect(over.systemJoules < 1e-9)
        // No usage at all: the dynamic part is the system's.
        let idle = PodAttribution.attribute(Self.window(nodeCores: 0, pods: [Self.pod("a", cores: 0)]), policy: .none)
        #expect(idle.pods[0].dynamicJoules == 0 && idle.systemJoules == 1050)
        for result in [partial, over, idle] { #expect(Self.imbalance(result) <= 1e-9) }
    }

    @Test("a pod without a usage figure (nil, NaN, negative) gets no dynamic energy and no CPU seconds")
    func podWithoutFigure() {
        let result = PodAttribution.attribute(
            Self.window(
                nodeCores: 2,
                pods: [
                    Self.pod("a", cores: 1), Self.pod("b", cores: nil), Self.pod("c", cores: .nan),
                    Self.pod("d", cores: -1),
                ]),
            policy: .even)
        #expect(Self.close(result.pods[0].dynamicJoules, 525))
        for share in result.pods.dropFirst() {
            #expect(share.dynamicJoules == 0 && share.cpuSeconds == 0)
            // Static power by the policy needs no usage figure.
            #expect(Self.close(share.staticJoules, 450 / 4))
        }
        #expect(Self.close(result.systemJoules, 525))
        #expect(Self.imbalance(result) <= 1e-9)
    }

    @Test("requests: running pods share static energy by requests out of the allocatable cores, the rest is idle")
    func requestsPolicy() {
        let pods = [
            Self.pod("a", cores: 1, requests: 1), Self.pod("b", cores: 1, requests: 0.5),
            Self.pod("c", cores: 0, requests: 2, running: false),
        ]
        let result = PodAttribution.attribute(Self.window(nodeCores: 2, pods: pods), policy: .requests)
        #expect(Self.close(result.pods[0].staticJoules, 450 * 1 / 4))
        #expect(Self.close(result.pods[1].staticJoules, 450 * 0.5 / 4))
        #expect(result.pods[2].staticJoules == 0)
        #expect(Self.close(result.idleJoules, 450 * 2.5 / 4))
        #expect(Self.imbalance(result) <= 1e-9)
        // Requests beyond the allocatable cores (overcommitted node): shared by requests, no idle.
        let over = PodAttribution.attribute(
            Self.window(
                nodeCores: 2, pods: [Self.pod("a", cores: 1, requests: 3), Self.pod("b", cores: 1, requests: 3)],
                allocatable: 4),
            policy: .requests)
        #expect(Self.close(over.pods[0].staticJoules, 225) && Self.close(over.pods[1].staticJoules, 225))
        #expect(over.idleJoules < 1e-9)
        // No allocatable figure and no requests: all idle.
        let nothing = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 1)], allocatable: .nan), policy: .requests)
        #expect(nothing.pods[0].staticJoules == 0 && nothing.idleJoules == 450)
    }

    @Test("even: running pods share static energy equally; all idle when none runs")
    func evenPolicy() {
        let pods = [
            Self.pod("a", cores: 1, requests: 3), Self.pod("b", cores: 0.1),
            Self.pod("c", cores: 0, running: false),
        ]
        let result = PodAttribution.attribute(Self.window(nodeCores: 2, pods: pods), policy: .even)
        #expect(result.pods[0].staticJoules == 225 && result.pods[1].staticJoules == 225)
        #expect(result.pods[2].staticJoules == 0)
        #expect(result.idleJoules < 1e-9)
        let stopped = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("c", cores: 0, running: false)]), policy: .even)
        #expect(stopped.pods[0].staticJoules == 0 && stopped.idleJoules == 450)
        #expect(Self.imbalance(result) <= 1e-9 && Self.imbalance(stopped) <= 1e-9)
    }

    @Test("none: all static energy is idle")
    func nonePolicy() {
        let result = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 1, requests: 4)]), policy: .none)
        #expect(result.pods[0].staticJoules == 0)
        #expect(result.idleJoules == 450)
        #expect(Self.close(result.pods[0].joules, 525))
    }

    @Test("no node CPU figure: a gap, pods get nothing, static is idle and dynamic the system's")
    func noCPUFigure() {
        for cores in [nil, .nan, -1, .infinity] as [Double?] {
            for policy in StaticPowerPolicy.allCases {
                let result = PodAttribution.attribute(
                    Self.window(nodeCores: cores, pods: [Self.pod("a", cores: 1, requests: 1)]), policy: policy)
                #expect(!result.attributed)
                #expect(result.pods.isEmpty)
                #expect(result.idleJoules == 450 && result.systemJoules == 1050)
                #expect(result.measuredJoules == 1500 && result.coverage == 1)
            }
        }
    }

    @Test("static power above the measured energy: all of it is static, none dynamic")
    func staticAboveMeasured() {
        let result = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 2)], measured: 1000, staticWatts: 100), policy: .even)
        #expect(result.staticJoules == 1000 && result.dynamicJoules == 0)
        #expect(result.pods[0].staticJoules == 1000 && result.pods[0].dynamicJoules == 0)
        #expect(Self.imbalance(result) <= 1e-9)
    }

    @Test("zero covered time: no static part, no CPU seconds, coverage 0; covered time is clamped to the window")
    func coveredTime() {
        let empty = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 2)], measured: 0, covered: 0), policy: .even)
        #expect(empty.coverage == 0 && empty.coveredMilliseconds == 0)
        #expect(empty.staticJoules == 0 && empty.dynamicJoules == 0)
        #expect(empty.pods[0].joules == 0 && empty.pods[0].cpuSeconds == 0)
        #expect(empty.systemJoules == 0 && empty.idleJoules == 0)
        // Energy without covered time (inconsistent input) is all dynamic and still balances.
        let odd = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 1)], measured: 10, covered: 0), policy: .even)
        #expect(odd.staticJoules == 0 && odd.dynamicJoules == 10 && Self.close(odd.pods[0].dynamicJoules, 5))
        #expect(Self.imbalance(odd) <= 1e-9)
        let half = PodAttribution.attribute(
            Self.window(nodeCores: 2, pods: [Self.pod("a", cores: 1)], measured: 700, covered: 7500), policy: .none)
        #expect(half.coverage == 0.5 && half.staticJoules == 225 && half.pods[0].cpuSeconds == 7.5)
        let beyond = PodAttribution.attribute(Self.window(nodeCores: 2, pods: [], covered: 99_000), policy: .none)
        #expect(beyond.coverage == 1 && beyond.coveredMilliseconds == 15_000)
        let negative = PodAttribution.attribute(Self.window(nodeCores: 2, pods: [], covered: -5), policy: .none)
        #expect(negative.coverage == 0 && negative.coveredMilliseconds == 0 && negative.staticJoules == 0)
    }

    /// Values every numeric input is tried with: the edges of Double, subnormal, negative,
    /// non-finite and ordinary.
    static let extremes: [Double] = [
        0, -0.0, .leastNonzeroMagnitude, 1e-300, 1e-12, 0.5, 1, 3, 64, 1e9, 1e300, .greatestFiniteMagnitude, -1, -1e300,
        .infinity,
        -.infinity, .nan,
    ]
    static let extremeTimes: [Int64] = [.min, .min + 1, -15_000, 0, 1, 15_000, 1_700_000_000_000, .max - 1, .max]

    @Test("random windows, ordinary and extreme: parts add up to the measured energy, every figure finite and ≥ 0")
    func conservationFuzz() {
        var random = SeededGenerator(seed: 0x5EED_0F_E4E6)
        func number(_ extremeChance: Double, ordinary: ClosedRange<Double>) -> Double {
            Double.random(in: 0..<1, using: &random) < extremeChance
                ? Self.extremes.randomElement(using: &random)! : Double.random(in: ordinary, using: &random)
        }
        for round in 0..<4000 {
            // A quarter of the rounds are ordinary windows, the rest mix in extreme values.
            let chance = round % 4 == 0 ? 0 : 0.3
            let from =
                Double.random(in: 0..<1, using: &random) < chance
                ? Self.extremeTimes.randomElement(using: &random)! : 1_700_000_000_000
            let to =
                Double.random(in: 0..<1, using: &random) < chance
                ? Self.extremeTimes.randomElement(using: &random)! : from &+ 15_000
            let covered =
                Double.random(in: 0..<1, using: &random) < chance
                ? Self.extremeTimes.randomElement(using: &random)! : Int64.random(in: 0...15_000, using: &random)
            let pods = (0..<Int.random(in: 0...12, using: &random)).map { index in
                PodUsage(
                    namespace: "ns", name: "pod-\(index)", uid: "uid-\(index)",
                    cpuCores: Double.random(in: 0..<1, using: &random) < 0.1 ? nil : number(chance, ordinary: 0...4),
                    requestCores: number(chance, ordinary: 0...2), running: Bool.random(using: &random))
            }
            let window = NodeWindow(
                node: "n", fromMilliseconds: from, toMilliseconds: to,
                measuredJoules: number(chance, ordinary: 0...5000),
                coveredMilliseconds: covered, staticWatts: number(chance, ordinary: 0...200),
                nodeCPUCores: Double.random(in: 0..<1, using: &random) < 0.05 ? nil : number(chance, ordinary: 0...16),
                allocatableCores: number(chance, ordinary: 0...16), pods: pods)
            for policy in StaticPowerPolicy.allCases {
                let result = PodAttribution.attribute(window, policy: policy)
                let figures =
                    [
                        result.systemJoules, result.idleJoules, result.staticJoules, result.dynamicJoules,
                        result.measuredJoules, result.coverage,
                    ] + result.pods.flatMap { [$0.cpuSeconds, $0.dynamicJoules, $0.staticJoules, $0.joules] }
                #expect(
                    figures.allSatisfy { $0.isFinite && $0 >= 0 }, "round \(round), \(policy): \(window) -> \(result)")
                #expect(Self.imbalance(result) <= 1e-9, "round \(round), \(policy): \(window) -> \(result)")
                #expect(result.coverage <= 1 && result.coveredMilliseconds >= 0)
                if window.measuredJoules.isFinite, window.measuredJoules >= 0 {
                    #expect(result.measuredJoules == window.measuredJoules)
                } else {
                    #expect(result.measuredJoules == 0)
                }
                #expect(result.attributed == (window.nodeCPUCores.map { $0.isFinite && $0 >= 0 } ?? false))
                #expect(result.pods.count == (result.attributed ? pods.count : 0))
            }
        }
    }

    @Test("10,000 pods on one node: the balance holds and equal pods get equal shares")
    func manyPods() {
        let pods = (0..<10_000).map { Self.pod("p\($0)", cores: 0.001, requests: 0.0004) }
        let result = PodAttribution.attribute(Self.window(nodeCores: 12, pods: pods), policy: .requests)
        #expect(Self.imbalance(result) <= 1e-9)
        #expect(Set(result.pods.map(\.dynamicJoules)).count == 1)
        #expect(Self.close(result.systemJoules, 1050 * 2 / 12, 1e-9))
        #expect(Self.close(result.idleJoules, 0, 1e-9))
    }
}

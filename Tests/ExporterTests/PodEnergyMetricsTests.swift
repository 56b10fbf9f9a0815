import Exposition
import Testing

@testable import Exporter

/// The per-pod series of `/metrics`: a pod's series stay for the retention after its last
/// window, so that the last increase is scraped, and then leave; a pod seen again comes back
/// with its counter where it was only while it still has a series.
@Suite("Per-pod energy series")
struct PodEnergyMetricsTests {
    static let start: Int64 = 1_769_030_700_000
    static let gone = PodEnergyMetrics.PodKey(namespace: "ml", pod: "deleted", node: "tvpc")
    static let staying = PodEnergyMetrics.PodKey(namespace: "ml", pod: "staying", node: "tvpc")

    static func window(_ series: PodEnergyMetrics, pods: [PodEnergyMetrics.PodKey], at time: Int64) {
        series.record(
            node: "tvpc", seconds: 15, measuredJoules: 600, pods: pods.map { (key: $0, joules: 150) },
            systemJoules: 600 - 150 * Double(pods.count) - 100, idleJoules: 100, atMilliseconds: time)
    }

    @Test("a deleted pod's series stay for the retention after its last window, then leave; the others stay")
    func expiry() {
        let series = PodEnergyMetrics(nodes: ["tvpc"], retentionMilliseconds: 300_000)
        Self.window(series, pods: [Self.gone, Self.staying], at: Self.start)
        Self.window(series, pods: [Self.gone, Self.staying], at: Self.start + 15_000)
        // The pod is deleted: later windows name only the other one.
        var time = Self.start + 15_000
        while time < Self.start + 15_000 + 300_000 {
            time += 15_000
            Self.window(series, pods: [Self.staying], at: time)
            series.expire(nowMilliseconds: time)
            let metrics = ExpositionReader(series.render())
            #expect(
                metrics.value(#"energy_monitor_pod_energy_joules_total{namespace="ml",pod="deleted",node="tvpc"}"#)
                    == 300, "at \(time - Self.start) ms")
        }
        // One window past the retention it is gone, with both of its series.
        time += 15_000
        Self.window(series, pods: [Self.staying], at: time)
        series.expire(nowMilliseconds: time)
        let text = series.render()
        #expect(!text.contains(#"pod="deleted""#), "\(text)")
        #expect(series.podCount == 1)
        let metrics = ExpositionReader(text)
        #expect(
            metrics.value(#"energy_monitor_pod_power_watts{namespace="ml",pod="staying",node="tvpc"}"#) == 10)
        let windows = Double((time - Self.start) / 15_000 + 1)
        #expect(
            metrics.value(#"energy_monitor_pod_energy_joules_total{namespace="ml",pod="staying",node="tvpc"}"#)
                == 150 * windows)
        #expect(metrics.value(#"energy_monitor_node_attributed_energy_joules_total{node="tvpc"}"#) == 600 * windows)
        #expect(metrics.value(#"energy_monitor_node_attribution_residual_joules{node="tvpc"}"#) == 0)
    }

    @Test("a shorter retention is honoured; a pod back before it expires keeps counting from where it was")
    func shortRetention() {
        let series = PodEnergyMetrics(nodes: ["tvpc"], retentionMilliseconds: 20_000)
        Self.window(series, pods: [Self.gone], at: Self.start)
        series.expire(nowMilliseconds: Self.start + 20_000)
        #expect(series.podCount == 1)
        Self.window(series, pods: [Self.gone], at: Self.start + 20_000)
        series.expire(nowMilliseconds: Self.start + 40_000)
        let metrics = ExpositionReader(series.render())
        #expect(
            metrics.value(#"energy_monitor_pod_energy_joules_total{namespace="ml",pod="deleted",node="tvpc"}"#) == 300)
        series.expire(nowMilliseconds: Self.start + 40_001)
        #expect(series.podCount == 0)
        #expect(!series.render().contains("energy_monitor_pod_power_watts"))
    }
}

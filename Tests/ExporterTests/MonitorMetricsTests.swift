import EnergyModel
import Exposition
import Testing

@testable import Exporter

@Suite("Metrics")
struct MonitorMetricsTests {
    /// The `reason` values of `energy_monitor_poll_errors_total` in the project's contract.
    static let pollErrorReasons = ["timeout", "connect", "http", "auth", "throttled", "parse", "invalid"]
    /// The `result` values of `energy_monitor_annotation_patches_total` in the project's contract.
    static let annotationResults = ["ok", "error", "skipped"]

    /// Sample lines (no comments) of the exposition, as a set: order is not part of the format.
    private func lines(_ metrics: MonitorMetrics) -> Set<String> {
        Set(
            String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n").map(String.init).filter {
                !$0.hasPrefix("#")
            })
    }

    private func text(_ metrics: MonitorMetrics) -> String {
        String(decoding: metrics.render(), as: UTF8.self)
    }

    @Test("a sample sets power, volts, amps, up, timestamp and counters")
    func sample() {
        let metrics = MonitorMetrics(nodes: ["tvpc"], counters: [:], annotations: false)
        let sample = Sample(
            node: "tvpc", timestampMilliseconds: 1_700_000_000_500,
            reading: Reading(watts: 48.5, volts: 230.1, amps: 0.25))
        metrics.recordSample(
            sample, counters: EnergyCounters(energyJoules: 12.5, deviceJoules: 3600), pollSeconds: 0.012)
        let set = lines(metrics)
        #expect(set.contains("energy_monitor_power_watts{node=\"tvpc\"} 48.5"))
        #expect(set.contains("energy_monitor_voltage_volts{node=\"tvpc\"} 230.1"))
        #expect(set.contains("energy_monitor_current_amperes{node=\"tvpc\"} 0.25"))
        #expect(set.contains("energy_monitor_plug_up{node=\"tvpc\"} 1.0"))
        #expect(set.contains("energy_monitor_last_sample_timestamp_seconds{node=\"tvpc\"} 1700000000.5"))
        #expect(set.contains("energy_monitor_energy_joules_total{node=\"tvpc\"} 12.5"))
        #expect(set.contains("energy_monitor_device_energy_joules_total{node=\"tvpc\"} 3600.0"))
        #expect(set.contains("energy_monitor_poll_duration_seconds_count{node=\"tvpc\"} 1"))
        #expect(set.contains("energy_monitor_build_info{version=\"\(EnergyMonitorVersion.string)\"} 1.0"))
        for reason in Self.pollErrorReasons {
            #expect(set.contains("energy_monitor_poll_errors_total{node=\"tvpc\",reason=\"\(reason)\"} 0"))
        }
        #expect(!text(metrics).contains("annotation_patches"))
    }

    @Test("device health: info with model, generation and firmware labels; uptime, temperature, Wi-Fi where reported")
    func health() {
        let metrics = MonitorMetrics(nodes: ["tvpc", "rpi"], counters: [:], annotations: false)
        #expect(!text(metrics).contains("energy_monitor_device_info"), "no family before any health was read")
        metrics.recordHealth(
            node: "tvpc",
            health: DeviceHealth(
                model: "SNPL-00112EU", generation: "gen2", firmware: "20231219/1.1.0", uptimeSeconds: 3600,
                temperatureCelsius: 33.4, wifiRSSI: -58))
        metrics.recordHealth(
            node: "rpi", health: DeviceHealth(model: "SHPLG-S", generation: "gen1", firmware: nil, uptimeSeconds: 12))
        let set = lines(metrics)
        #expect(
            set.contains(
                #"energy_monitor_device_info{node="tvpc",model="SNPL-00112EU",generation="gen2",firmware="20231219/1.1.0"} 1.0"#
            ))
        #expect(
            set.contains(#"energy_monitor_device_info{node="rpi",model="SHPLG-S",generation="gen1",firmware=""} 1.0"#))
        #expect(set.contains(#"energy_monitor_device_uptime_seconds{node="tvpc"} 3600.0"#))
        #expect(set.contains(#"energy_monitor_device_uptime_seconds{node="rpi"} 12.0"#))
        #expect(set.contains(#"energy_monitor_device_temperature_celsius{node="tvpc"} 33.4"#))
        #expect(set.contains(#"energy_monitor_wifi_rssi_dbm{node="tvpc"} -58.0"#))
        #expect(!set.contains { $0.hasPrefix(#"energy_monitor_wifi_rssi_dbm{node="rpi"}"#) }, "only where reported")
        #expect(metrics.health(of: "tvpc")?.model == "SNPL-00112EU")
    }

    @Test("each meter of a node with several, while it has a sample")
    func meters() {
        let metrics = MonitorMetrics(nodes: ["tvpc"], counters: [:], annotations: false)
        metrics.recordMeters(node: "tvpc", [("psu-a", 40.5), ("psu-b", nil)])
        let set = lines(metrics)
        #expect(set.contains(#"energy_monitor_meter_power_watts{node="tvpc",meter="psu-a"} 40.5"#))
        #expect(!set.contains { $0.contains(#"meter="psu-b""#) })
        metrics.expireStale(nowMilliseconds: 10_000, maxAgeMilliseconds: 3000)
        #expect(!text(metrics).contains("energy_monitor_meter_power_watts"), "stale meters leave with the node's power")
    }

    @Test("emissions and cost: absent without rates; with them they start at the stored counters and only go up")
    func footprint() {
        let plain = MonitorMetrics(nodes: ["tvpc"], counters: [:], annotations: false)
        #expect(!text(plain).contains("energy_monitor_emissions_grams_total"))
        #expect(!text(plain).contains("energy_monitor_cost_total"))
        #expect(!text(plain).contains("energy_monitor_grid_carbon_intensity_grams_per_kwh"))
        var stored = EnergyCounters(energyJoules: 3_600_000)
        stored.emissionsGrams = 380
        stored.cost = 0.3
        let rates = RatesCell(FootprintRates(intensity: .constant(380), tariff: Tariff(perKWh: 0.3, currency: "EUR")))
        let metrics = MonitorMetrics(nodes: ["tvpc"], counters: ["tvpc": stored], annotations: false, rates: rates)
        var set = lines(metrics)
        #expect(set.contains("energy_monitor_grid_carbon_intensity_grams_per_kwh 380.0"))
        #expect(set.contains(#"energy_monitor_emissions_grams_total{node="tvpc"} 380.0"#))
        #expect(set.contains(#"energy_monitor_cost_total{node="tvpc",currency="EUR"} 0.3"#))
        var later = stored
        later.emissionsGrams = 390
        later.cost = 0.25  // a counter that went back (repaired) does not take the exposed one down
        metrics.recordSample(
            Sample(node: "tvpc", timestampMilliseconds: 10_000, reading: Reading(watts: 50)), counters: later,
            pollSeconds: 0.01)
        set = lines(metrics)
        #expect(set.contains(#"energy_monitor_emissions_grams_total{node="tvpc"} 390.0"#))
        #expect(set.contains(#"energy_monitor_cost_total{node="tvpc",currency="EUR"} 0.3"#))
        // Without an intensity in force (Electricity Maps not answered yet) the gauge is left out.
        rates.setIntensity(StepSeries(steps: []))
        #expect(!text(metrics).contains("energy_monitor_grid_carbon_intensity_grams_per_kwh "))
    }

    @Test("tick delays land in the tick delay histogram, in seconds")
    func tickDelay() throws {
        let metrics = MonitorMetrics(nodes: [], counters: [:], annotations: false)
        metrics.recordTickDelay(milliseconds: 0.7)
        metrics.recordTickDelay(milliseconds: 12)
        metrics.recordTickDelay(milliseconds: -1)  // a clock step back counts as on time
        let reader = ExpositionReader(text(metrics))
        #expect(reader.sum("energy_monitor_tick_delay_seconds_count") == 3)
        let buckets = reader.buckets("energy_monitor_tick_delay_seconds")
        #expect(buckets.first { $0.upperBound == 0.0001 }?.cumulativeCount == 1)
        #expect(buckets.first { $0.upperBound == 0.001 }?.cumulativeCount == 2)
        #expect(buckets.first { $0.upperBound == 0.01 }?.cumulativeCount == 2)
        #expect(buckets.first { $0.upperBound == 0.015 }?.cumulativeCount == 3)
        #expect(abs(try #require(reader.sum("energy_monitor_tick_delay_seconds_sum")) - 0.0127) < 1e-9)
    }

    @Test("a failure sets up to 0 and counts the reason; stale power disappears")
    func failure() {
        let metrics = MonitorMetrics(nodes: ["rpi"], counters: [:], annotations: true)
        metrics.recordSample(
            Sample(node: "rpi", timestampMilliseconds: 10_000, reading: Reading(watts: 2.4)),
            counters: EnergyCounters(), pollSeconds: 0.01)
        metrics.recordFailure(node: "rpi", reason: .timeout, pollSeconds: 0.8)
        metrics.expireStale(nowMilliseconds: 12_000, maxAgeMilliseconds: 3000)
        #expect(lines(metrics).contains("energy_monitor_power_watts{node=\"rpi\"} 2.4"))
        metrics.expireStale(nowMilliseconds: 13_001, maxAgeMilliseconds: 3000)
        let set = lines(metrics)
        #expect(!set.contains { $0.hasPrefix("energy_monitor_power_watts") })
        #expect(set.contains("energy_monitor_plug_up{node=\"rpi\"} 0.0"))
        #expect(set.contains("energy_monitor_poll_errors_total{node=\"rpi\",reason=\"timeout\"} 1"))
        #expect(set.contains("energy_monitor_annotation_patches_total{node=\"rpi\",result=\"ok\"} 0"))
        // It comes back with the next sample.
        metrics.recordSample(
            Sample(node: "rpi", timestampMilliseconds: 14_000, reading: Reading(watts: 2.5)),
            counters: EnergyCounters(), pollSeconds: 0.01)
        #expect(lines(metrics).contains("energy_monitor_power_watts{node=\"rpi\"} 2.5"))
    }

    @Test("live gauges: only fresh nodes, in node order; an empty family has no HELP or TYPE")
    func liveGauges() {
        let metrics = MonitorMetrics(nodes: ["c", "a", "b"], counters: [:], annotations: false)
        #expect(!text(metrics).contains("energy_monitor_power_watts"))
        metrics.recordSample(
            Sample(node: "a", timestampMilliseconds: 10_000, reading: Reading(watts: 5, volts: 231)),
            counters: EnergyCounters(), pollSeconds: 0.01)
        metrics.recordSample(
            Sample(node: "b", timestampMilliseconds: 12_000, reading: Reading(watts: 7)), counters: EnergyCounters(),
            pollSeconds: 0.01)
        metrics.recordSample(
            Sample(node: "c", timestampMilliseconds: 12_000, reading: Reading(watts: 9, volts: 229, amps: 0.04)),
            counters: EnergyCounters(), pollSeconds: 0.01)
        let all = text(metrics)
        #expect(
            all.contains(
                "# HELP energy_monitor_power_watts Active power of the node's plug, watts.\n# TYPE energy_monitor_power_watts gauge\n"
                    + "energy_monitor_power_watts{node=\"c\"} 9.0\nenergy_monitor_power_watts{node=\"a\"} 5.0\nenergy_monitor_power_watts{node=\"b\"} 7.0\n"
            ))
        #expect(
            lines(metrics).isSuperset(of: [
                "energy_monitor_voltage_volts{node=\"a\"} 231.0", "energy_monitor_voltage_volts{node=\"c\"} 229.0",
                "energy_monitor_current_amperes{node=\"c\"} 0.04",
            ]))
        // a goes stale; c loses its voltage and current with a reading without them.
        metrics.expireStale(nowMilliseconds: 14_000, maxAgeMilliseconds: 3000)
        metrics.recordSample(
            Sample(node: "c", timestampMilliseconds: 14_000, reading: Reading(watts: 8)), counters: EnergyCounters(),
            pollSeconds: 0.01)
        let set = lines(metrics)
        #expect(!set.contains { $0.contains("node=\"a\"") && $0.hasPrefix("energy_monitor_power_watts") })
        #expect(set.contains("energy_monitor_power_watts{node=\"b\"} 7.0"))
        #expect(set.contains("energy_monitor_power_watts{node=\"c\"} 8.0"))
        #expect(!text(metrics).contains("energy_monitor_voltage_volts"))
        #expect(!text(metrics).contains("energy_monitor_current_amperes"))
    }

    @Test("label values are escaped as the registry escapes them")
    func labelEscaping() {
        #expect(
            NodeSeries.labelBytes([("node", "a\"b\\c\nd"), ("reason", "x")])
                == Array("node=\"a\\\"b\\\\c\\nd\",reason=\"x\"".utf8))
    }

    @Test("per-node series read the same as the registry wrote them")
    func registryFormat() {
        let metrics = MonitorMetrics(nodes: ["n"], counters: [:], annotations: true)
        var set = lines(metrics)
        #expect(
            set.isSuperset(of: [
                "energy_monitor_energy_joules_total{node=\"n\"} 0",
                "energy_monitor_device_energy_joules_total{node=\"n\"} 0",
                "energy_monitor_plug_up{node=\"n\"} 0.0",
                "energy_monitor_last_sample_timestamp_seconds{node=\"n\"} 0.0",
                "energy_monitor_annotation_patches_total{node=\"n\",result=\"skipped\"} 0",
                "energy_monitor_poll_duration_seconds_bucket{node=\"n\",le=\"0.005\"} 0",
                "energy_monitor_poll_duration_seconds_bucket{node=\"n\",le=\"+Inf\"} 0",
                "energy_monitor_poll_duration_seconds_sum{node=\"n\"} 0.0",
                "energy_monitor_poll_duration_seconds_count{node=\"n\"} 0",
            ]))
        metrics.recordFailure(node: "n", reason: .connect, pollSeconds: 0.3)
        metrics.recordAnnotationPatch(node: "n", result: .ok)
        set = lines(metrics)
        #expect(
            set.isSuperset(of: [
                "energy_monitor_poll_errors_total{node=\"n\",reason=\"connect\"} 1",
                "energy_monitor_annotation_patches_total{node=\"n\",result=\"ok\"} 1",
                "energy_monitor_poll_duration_seconds_bucket{node=\"n\",le=\"0.25\"} 0",
                "energy_monitor_poll_duration_seconds_bucket{node=\"n\",le=\"0.5\"} 1",
                "energy_monitor_poll_duration_seconds_bucket{node=\"n\",le=\"1.0\"} 1",
                "energy_monitor_poll_duration_seconds_bucket{node=\"n\",le=\"+Inf\"} 1",
                "energy_monitor_poll_duration_seconds_sum{node=\"n\"} 0.3",
                "energy_monitor_poll_duration_seconds_count{node=\"n\"} 1",
            ]))
        let exposition = text(metrics)
        for (name, type) in [
            ("energy_monitor_poll_duration_seconds", "histogram"), ("energy_monitor_poll_errors_total", "counter"),
            ("energy_monitor_plug_up", "gauge"),
        ] {
            #expect(exposition.components(separatedBy: "# TYPE \(name) \(type)\n").count == 2, "\(name)")
        }
        // No nodes, no per-node families.
        #expect(!text(MonitorMetrics(nodes: [], counters: [:], annotations: true)).contains("energy_monitor_plug_up"))
    }

    @Test("every poll-error reason and annotation result has its series, as the contract spells it, and counts")
    func typedLabels() {
        #expect(PollErrorReason.allCases.map(\.rawValue) == Self.pollErrorReasons)
        #expect(AnnotationPatchResult.allCases.map(\.rawValue) == Self.annotationResults)
        let metrics = MonitorMetrics(nodes: ["n"], counters: [:], annotations: true)
        for (count, reason) in PollErrorReason.allCases.enumerated() {
            for _ in 0...count { metrics.recordFailure(node: "n", reason: reason, pollSeconds: 0.1) }
        }
        for (count, result) in AnnotationPatchResult.allCases.enumerated() {
            for _ in 0...count { metrics.recordAnnotationPatch(node: "n", result: result) }
        }
        let exposition = text(metrics)
        let set = lines(metrics)
        for (index, reason) in Self.pollErrorReasons.enumerated() {
            #expect(set.contains(#"energy_monitor_poll_errors_total{node="n",reason="\#(reason)"} \#(index + 1)"#))
        }
        for (index, result) in Self.annotationResults.enumerated() {
            let series = #"energy_monitor_annotation_patches_total{node="n",result="\#(result)"}"#
            #expect(set.contains("\(series) \(index + 1)"))
        }
        // In the contract's order, as before the values were typed.
        let reasons = exposition.split(separator: "\n").filter { $0.hasPrefix("energy_monitor_poll_errors_total{") }
        #expect(reasons.count == Self.pollErrorReasons.count)
        #expect(zip(reasons, Self.pollErrorReasons).allSatisfy { $0.contains("reason=\"\($1)\"") }, "\(reasons)")
    }

    @Test("counters start from the store and never go back")
    func monotone() {
        let metrics = MonitorMetrics(
            nodes: ["n"], counters: ["n": EnergyCounters(energyJoules: 1000, deviceJoules: 7200)], annotations: false)
        #expect(lines(metrics).contains("energy_monitor_energy_joules_total{node=\"n\"} 1000.0"))
        let sample = Sample(node: "n", timestampMilliseconds: 1, reading: Reading(watts: 1))
        metrics.recordSample(sample, counters: EnergyCounters(energyJoules: 900, deviceJoules: 100), pollSeconds: 0)
        #expect(lines(metrics).contains("energy_monitor_energy_joules_total{node=\"n\"} 1000.0"))
        #expect(lines(metrics).contains("energy_monitor_device_energy_joules_total{node=\"n\"} 7200.0"))
        metrics.recordSample(sample, counters: EnergyCounters(energyJoules: 1010, deviceJoules: 7300), pollSeconds: 0)
        #expect(lines(metrics).contains("energy_monitor_energy_joules_total{node=\"n\"} 1010.0"))
        #expect(lines(metrics).contains("energy_monitor_device_energy_joules_total{node=\"n\"} 7300.0"))
    }

    @Test("every metric has HELP and TYPE; process metrics are present")
    func helpAndType() {
        let metrics = MonitorMetrics(nodes: ["a", "b"], counters: [:], annotations: true)
        let all = text(metrics)
        let names = Set(
            all.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line -> String in
                let name = line.prefix { $0 != "{" && $0 != " " }
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                    let base = name.dropLast(suffix.count)
                    if all.contains("# TYPE \(base) histogram") { return String(base) }
                }
                return String(name)
            })
        for name in names {
            #expect(all.contains("# HELP \(name) "), "\(name)")
            #expect(all.contains("# TYPE \(name) "), "\(name)")
        }
        for name in ["process_resident_memory_bytes", "process_cpu_seconds_total", "process_start_time_seconds"] {
            #expect(names.contains(name))
        }
    }
}

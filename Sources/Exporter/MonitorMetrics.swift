import EnergyModel
import Prometheus
import Synchronization

/// The service's Prometheus metrics (names and labels as in the project's contract). Handles
/// are made once per node and cached; every label list is built by `labels(_:)` so the label
/// order never varies.
public final class MonitorMetrics: Sendable {
    /// The registry behind `/metrics`.
    public let registry: PrometheusCollectorRegistry
    private let nodes: Mutex<[String: NodeHandles]>
    /// The nodes in configuration order, for a stable order of the live gauges.
    private let nodeOrder: [String]
    private let storeWriteDuration: ValueHistogram
    private let storeErrors: Counter
    private let ticksSkipped: Counter
    private let tickDelay: ValueHistogram

    /// Label values of `energy_monitor_poll_errors_total{reason}`.
    public static let pollErrorReasons = ["timeout", "connect", "http", "auth", "parse", "invalid"]
    /// Label values of `energy_monitor_annotation_patches_total{result}`.
    public static let annotationResults = ["ok", "error", "skipped"]

    /// One node's handles and bookkeeping. A class, so that a sample updates it in place:
    /// as a struct each of 5,000 samples a tick copied it out of the dictionary (retaining
    /// every handle) and wrote it back.
    private final class NodeHandles: @unchecked Sendable {
        // `@unchecked`: the handles are Sendable classes, and the mutable fields are only read
        // or written while holding the `nodes` mutex, which owns every instance.
        let up: Gauge
        let lastSample: Gauge
        let energy: Counter
        let deviceEnergy: Counter
        let pollDuration: ValueHistogram
        let pollErrors: [String: Counter]
        let annotationPatches: [String: Counter]
        /// `{node="..."} `, rendered once: the label part of the node's live gauge lines.
        let labelBytes: [UInt8]
        // The live gauges (power, voltage, current): nil while there is nothing to show.
        var power: Double?
        var volts: Double?
        var amps: Double?
        var lastSampleMilliseconds: Int64?
        var countedEnergyJoules: Double
        var countedDeviceJoules: Double

        init(
            up: Gauge, lastSample: Gauge, energy: Counter, deviceEnergy: Counter, pollDuration: ValueHistogram,
            pollErrors: [String: Counter], annotationPatches: [String: Counter], countedEnergyJoules: Double,
            countedDeviceJoules: Double, labelBytes: [UInt8]
        ) {
            self.labelBytes = labelBytes
            self.up = up
            self.lastSample = lastSample
            self.energy = energy
            self.deviceEnergy = deviceEnergy
            self.pollDuration = pollDuration
            self.pollErrors = pollErrors
            self.annotationPatches = annotationPatches
            self.countedEnergyJoules = countedEnergyJoules
            self.countedDeviceJoules = countedDeviceJoules
        }
    }

    /// Creates the metrics for `nodes`, starting the energy counters at `counters` (as loaded
    /// from the store, so they continue across restarts).
    public init(nodes: [String], counters: [String: EnergyCounters], annotations: Bool) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        storeWriteDuration = registry.makeValueHistogram(
            descriptor: Self.descriptor("energy_monitor_store_write_duration_seconds", "Time to commit one tick to SQLite."),
            labels: [],
            buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
        )
        storeErrors = registry.makeCounter(
            descriptor: Self.descriptor("energy_monitor_store_errors_total", "Ticks whose commit to SQLite failed (retried later)."),
            labels: []
        )
        ticksSkipped = registry.makeCounter(
            descriptor: Self.descriptor("energy_monitor_ticks_skipped_total", "Poll ticks skipped because the process was stalled."),
            labels: []
        )
        tickDelay = registry.makeValueHistogram(
            descriptor: Self.descriptor(
                "energy_monitor_tick_delay_seconds", "How late each poll tick started after its wall-clock boundary."
            ),
            labels: [],
            buckets: Self.tickDelayBuckets
        )
        registry.makeGauge(
            descriptor: Self.descriptor("energy_monitor_build_info", "Build information; the value is always 1."),
            labels: [("version", EnergyMonitorVersion.string)]
        ).set(to: 1.0)
        var handles: [String: NodeHandles] = [:]
        for node in nodes {
            let energy = registry.makeCounter(
                descriptor: Self.descriptor("energy_monitor_energy_joules_total", "Energy integrated from power samples (trapezoidal), joules."),
                labels: Self.labels(node)
            )
            let deviceEnergy = registry.makeCounter(
                descriptor: Self.descriptor("energy_monitor_device_energy_joules_total", "Energy by the plug's own counter, joules; device reboots are new baselines."),
                labels: Self.labels(node)
            )
            let start = counters[node] ?? EnergyCounters()
            energy.increment(by: start.energyJoules)
            deviceEnergy.increment(by: start.deviceJoules)
            var pollErrors: [String: Counter] = [:]
            for reason in Self.pollErrorReasons {
                pollErrors[reason] = registry.makeCounter(
                    descriptor: Self.descriptor("energy_monitor_poll_errors_total", "Polls that produced no sample, by reason."),
                    labels: Self.labels(node, ("reason", reason))
                )
            }
            var patches: [String: Counter] = [:]
            if annotations {
                for result in Self.annotationResults {
                    patches[result] = registry.makeCounter(
                        descriptor: Self.descriptor("energy_monitor_annotation_patches_total", "Node annotation writes, by result."),
                        labels: Self.labels(node, ("result", result))
                    )
                }
            }
            handles[node] = NodeHandles(
                up: registry.makeGauge(
                    descriptor: Self.descriptor("energy_monitor_plug_up", "1 if the last poll of the node's plug gave a sample, else 0."),
                    labels: Self.labels(node)
                ),
                lastSample: registry.makeGauge(
                    descriptor: Self.descriptor("energy_monitor_last_sample_timestamp_seconds", "Unix time of the node's last sample."),
                    labels: Self.labels(node)
                ),
                energy: energy,
                deviceEnergy: deviceEnergy,
                pollDuration: registry.makeValueHistogram(
                    descriptor: Self.descriptor("energy_monitor_poll_duration_seconds", "Time to poll the node's plug, seconds."),
                    labels: Self.labels(node),
                    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5]
                ),
                pollErrors: pollErrors,
                annotationPatches: patches,
                countedEnergyJoules: start.energyJoules,
                countedDeviceJoules: start.deviceJoules,
                labelBytes: LiveGauge.labelBytes(Self.labels(node))
            )
            if let last = start.lastTimestampMilliseconds {
                handles[node]?.lastSample.set(Double(last) / 1000)
            }
        }
        self.nodes = Mutex(handles)
        self.nodeOrder = nodes
    }

    /// The one place label lists are made: `node` first, then the others in the given order.
    static func labels(_ node: String, _ more: (String, String)...) -> [(String, String)] {
        [("node", node)] + more
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Records a sample and the node's counters after it.
    public func recordSample(_ sample: Sample, counters: EnergyCounters, pollSeconds: Double) {
        nodes.withLock { nodes in
            guard let handles = nodes[sample.node] else { return }
            handles.up.set(to: 1.0)
            handles.lastSample.set(sample.timestampSeconds)
            handles.lastSampleMilliseconds = sample.timestampMilliseconds
            handles.pollDuration.record(pollSeconds)
            handles.power = sample.reading.watts
            handles.volts = sample.reading.volts
            handles.amps = sample.reading.amps
            // Counters only go up: add the increase since the last report, never a decrease.
            if counters.energyJoules > handles.countedEnergyJoules {
                handles.energy.increment(by: counters.energyJoules - handles.countedEnergyJoules)
                handles.countedEnergyJoules = counters.energyJoules
            }
            if counters.deviceJoules > handles.countedDeviceJoules {
                handles.deviceEnergy.increment(by: counters.deviceJoules - handles.countedDeviceJoules)
                handles.countedDeviceJoules = counters.deviceJoules
            }
        }
    }

    /// Records a failed poll.
    public func recordFailure(node: String, reason: String, pollSeconds: Double) {
        nodes.withLock { nodes in
            guard let handles = nodes[node] else { return }
            handles.up.set(to: 0.0)
            handles.pollDuration.record(pollSeconds)
            handles.pollErrors[reason]?.increment()
        }
    }

    /// Removes the power, voltage and current series of nodes whose last sample is older than
    /// `maxAgeMilliseconds` at `nowMilliseconds`: a stale value must not look live.
    public func expireStale(nowMilliseconds: Int64, maxAgeMilliseconds: Int64) {
        nodes.withLock { nodes in
            for handles in nodes.values {
                let fresh = handles.lastSampleMilliseconds.map { nowMilliseconds - $0 <= maxAgeMilliseconds } ?? false
                guard !fresh else { continue }
                handles.power = nil
                handles.volts = nil
                handles.amps = nil
            }
        }
    }

    /// Records a committed (or failed) store write.
    public func recordStoreWrite(seconds: Double, failed: Bool) {
        storeWriteDuration.record(seconds)
        if failed { storeErrors.increment() }
    }

    /// Upper bounds of `energy_monitor_tick_delay_seconds`: fine below 20 ms, where a healthy
    /// loop lives, so that percentiles read from the buckets are close to the true values.
    public static let tickDelayBuckets: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1,
    ]

    /// Records how late a tick started after its boundary.
    public func recordTickDelay(milliseconds: Double) {
        tickDelay.record(max(0, milliseconds) / 1000)
    }

    /// Counts ticks skipped by a stalled process.
    public func recordSkippedTicks(_ count: Int) {
        if count > 0 { ticksSkipped.increment(by: Int64(count)) }
    }

    /// Counts a node annotation write by result (`ok`, `error`, `skipped`).
    public func recordAnnotationPatch(node: String, result: String) {
        nodes.withLock { nodes in
            _ = nodes[node]?.annotationPatches[result]?.increment()
        }
    }

    /// The exposition text (format 0.0.4): the registry, the live gauges and the process
    /// metrics.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(registry.internalBufferCapacity() + 1024)
        registry.emit(into: &buffer)
        nodes.withLock { nodes in
            let handles = self.nodeOrder.compactMap { nodes[$0] }
            LiveGauge.power.emit(handles.map { ($0.labelBytes, $0.power) }, into: &buffer)
            LiveGauge.volts.emit(handles.map { ($0.labelBytes, $0.volts) }, into: &buffer)
            LiveGauge.amps.emit(handles.map { ($0.labelBytes, $0.amps) }, into: &buffer)
        }
        buffer.append(contentsOf: ProcessMetrics.render().utf8)
        return buffer
    }
}

/// A per-node gauge family whose series come and go (`energy_monitor_power_watts` and the
/// voltage and current beside it: absent while a node's sample is missing or stale).
///
/// Rendered here rather than registered in swift-prometheus: its registry copies a family's
/// whole dictionary of series to add or remove one, so at 5,000 nodes each series that went
/// stale or came back cost O(nodes), and a tick in which many plugs failed or recovered cost
/// seconds of CPU, enough to make the next ticks fail too. The lines are the ones the registry
/// wrote: `# HELP`, `# TYPE`, then `name{node="..."} value` with the value as Swift prints a
/// Double; a family without any series is left out, as the registry leaves out an empty one.
struct LiveGauge {
    let name: String
    let help: String

    static let power = LiveGauge(name: "energy_monitor_power_watts", help: "Active power of the node's plug, watts.")
    static let volts = LiveGauge(name: "energy_monitor_voltage_volts", help: "RMS voltage at the node's plug, volts.")
    static let amps = LiveGauge(name: "energy_monitor_current_amperes", help: "RMS current through the node's plug, amperes.")

    /// Appends the family: the series with a value, in the given order.
    func emit(_ series: [(labels: [UInt8], value: Double?)], into buffer: inout [UInt8]) {
        guard series.contains(where: { $0.value != nil }) else { return }
        buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) gauge\n".utf8)
        for (labels, value) in series {
            guard let value else { continue }
            buffer.append(contentsOf: name.utf8)
            buffer.append(contentsOf: labels)
            buffer.append(contentsOf: "\(value)".utf8)
            buffer.append(UInt8(ascii: "\n"))
        }
    }

    /// `{name="value",...} ` with label values escaped as the exposition format requires.
    static func labelBytes(_ labels: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, (name, value)) in labels.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: "=\"".utf8)
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
                default: bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(contentsOf: "} ".utf8)
        return bytes
    }
}

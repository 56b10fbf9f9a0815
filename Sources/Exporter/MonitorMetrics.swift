import EnergyModel
import Prometheus
import Store
import Synchronization

/// The service's Prometheus metrics (names and labels as in the project's contract).
///
/// Service-wide metrics (store writes, ticks, build info) are swift-prometheus handles, made
/// once and cached. The per-node series are kept and written here (`NodeSeries`), in the
/// registry's exposition format: swift-prometheus copies a family's whole dictionary of
/// series to register or unregister one, so registering 14 series for each of 5,000 nodes
/// took some 17 s of CPU at start (O(nodes^2)), and the power, voltage and current series,
/// which leave while a node's sample is stale and come back with the next, cost O(nodes)
/// each time: a tick in which many plugs failed or recovered cost seconds of CPU, enough to
/// make the following ticks fail too. Every label list is built by `labels(_:)` so the
/// label order never varies.
public final class MonitorMetrics: Sendable {
    /// The registry behind `/metrics` (service-wide metrics; `render()` adds the per-node ones).
    public let registry: PrometheusCollectorRegistry
    private let nodes: Mutex<NodeTable>
    private let storeWriteDuration: ValueHistogram
    private let storeErrors: Counter
    private let samplesDropped: Counter
    private let ticksSkipped: Counter
    private let tickDelay: ValueHistogram
    private let requestsRefused: Counter
    private let clockSteps: [ClockStepDirection: Counter]
    /// The store's record of bad rows and replaced files, rendered at every scrape.
    let storeFaults: StoreFaults?
    private let podSeries = Mutex<PodEnergyMetrics?>(nil)
    /// The carbon intensity and price in force, when either is configured: the emissions and
    /// cost counters and the intensity gauge are rendered only then.
    let rates: RatesCell?

    /// The per-pod energy series, rendered with the rest once set (by the per-pod energy
    /// service when it starts).
    public var podEnergy: PodEnergyMetrics? {
        get { podSeries.withLock { $0 } }
        set { podSeries.withLock { $0 = newValue } }
    }

    /// Upper bounds of `energy_monitor_poll_duration_seconds`.
    static let pollDurationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5]

    /// The per-node series, in configuration order, and where each node's are.
    private struct NodeTable {
        var series: [NodeSeries]
        var index: [String: Int]
        let annotations: Bool
    }

    /// Creates the metrics for `nodes`, starting the energy counters at `counters` (as loaded
    /// from the store, so they continue across restarts); with `storeFaults`, the store's bad
    /// rows and replaced files too.
    /// With `rates`, the emissions and cost counters (continuing from `counters` too) and the
    /// grid's carbon intensity.
    public init(
        nodes: [String], counters: [String: EnergyCounters], annotations: Bool, storeFaults: StoreFaults? = nil,
        rates: RatesCell? = nil
    ) {
        self.storeFaults = storeFaults
        self.rates = rates
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        storeWriteDuration = registry.makeValueHistogram(
            descriptor: Self.descriptor(
                "energy_monitor_store_write_duration_seconds", "Time to commit one tick to SQLite."),
            labels: [],
            buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
        )
        storeErrors = registry.makeCounter(
            descriptor: Self.descriptor(
                "energy_monitor_store_errors_total", "Ticks whose commit to SQLite failed (retried later)."),
            labels: []
        )
        samplesDropped = registry.makeCounter(
            descriptor: Self.descriptor(
                "energy_monitor_samples_dropped_total",
                "Samples dropped, oldest first, because the store could not write and the in-memory backlog was full."
            ),
            labels: []
        )
        ticksSkipped = registry.makeCounter(
            descriptor: Self.descriptor(
                "energy_monitor_ticks_skipped_total", "Poll ticks skipped because the process was stalled."),
            labels: []
        )
        tickDelay = registry.makeValueHistogram(
            descriptor: Self.descriptor(
                "energy_monitor_tick_delay_seconds", "How late each poll tick started after its wall-clock boundary."
            ),
            labels: [],
            buckets: Self.tickDelayBuckets
        )
        var steps: [ClockStepDirection: Counter] = [:]
        for direction in ClockStepDirection.allCases {
            steps[direction] = registry.makeCounter(
                descriptor: Self.descriptor(
                    "energy_monitor_clock_steps_total",
                    "Steps of the wall clock (beyond the monotonic time passed), by direction."
                ),
                labels: [("direction", direction.rawValue)]
            )
        }
        clockSteps = steps
        requestsRefused = registry.makeCounter(
            descriptor: Self.descriptor(
                "energy_monitor_http_requests_refused_total",
                "HTTP requests answered 503 (Retry-After) because the limit of requests in progress was reached."
            ),
            labels: []
        )
        registry.makeGauge(
            descriptor: Self.descriptor("energy_monitor_build_info", "Build information; the value is always 1."),
            labels: [("version", EnergyMonitorVersion.string)]
        ).set(to: 1.0)
        var table = NodeTable(series: [], index: [:], annotations: annotations)
        for node in nodes where table.index[node] == nil {
            table.index[node] = table.series.count
            table.series.append(NodeSeries(node: node, start: counters[node] ?? EnergyCounters()))
        }
        self.nodes = Mutex(table)
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
        nodes.withLock { table in
            guard let position = table.index[sample.node] else { return }
            table.series[position].record(sample, counters: counters, pollSeconds: pollSeconds)
        }
    }

    /// Records a device's health (identity and figures), read about once a minute.
    public func recordHealth(node: String, health: DeviceHealth) {
        let info = NodeSeries.labelBytes(
            MonitorMetrics.labels(
                node, ("model", health.model ?? ""), ("generation", health.generation ?? ""),
                ("firmware", health.firmware ?? "")))
        nodes.withLock { table in
            guard let position = table.index[node] else { return }
            table.series[position].health = health
            table.series[position].infoLabels = info
        }
    }

    /// Records each meter's watts of a node with several meters (nil: no sample this tick).
    public func recordMeters(node: String, _ readings: [(meter: String, watts: Double?)]) {
        nodes.withLock { table in
            guard let position = table.index[node] else { return }
            if table.series[position].meters.count != readings.count {
                table.series[position].meters = readings.map {
                    (NodeSeries.labelBytes(MonitorMetrics.labels(node, ("meter", $0.meter))), nil)
                }
            }
            for (index, reading) in readings.enumerated() { table.series[position].meters[index].watts = reading.watts }
        }
    }

    /// The device's health as last read, for the dashboard.
    public func health(of node: String) -> DeviceHealth? {
        nodes.withLock { table in table.index[node].flatMap { table.series[$0].health } }
    }

    /// Counts a settled gap: its seconds by outcome and the joules recorded for it by source.
    public func recordGap(node: String, seconds: [GapOutcome: Double], joules: [BackfillSource: Double]) {
        nodes.withLock { table in
            guard let position = table.index[node] else { return }
            for (outcome, value) in seconds where value.isFinite && value > 0 {
                table.series[position].gapSeconds[outcome, default: 0] += value
            }
            for (source, value) in joules where value.isFinite && value > 0 {
                table.series[position].backfilledJoules[source, default: 0] += value
            }
        }
    }

    /// Counts a device counter reading refused.
    public func recordCounterRefusal(node: String, reason: DeviceCounterRefusal.Reason) {
        nodes.withLock { table in
            guard let position = table.index[node] else { return }
            table.series[position].counterRefusals[reason, default: 0] += 1
        }
    }

    /// Records a failed poll; `energy_monitor_poll_errors_total` has a series for every reason.
    public func recordFailure(node: String, reason: PollErrorReason, pollSeconds: Double) {
        nodes.withLock { table in
            guard let position = table.index[node] else { return }
            table.series[position].recordFailure(reason: reason, pollSeconds: pollSeconds)
        }
    }

    /// Removes the power, voltage and current series of nodes whose last sample is older than
    /// `maxAgeMilliseconds` at `nowMilliseconds`: a stale value must not look live.
    public func expireStale(nowMilliseconds: Int64, maxAgeMilliseconds: Int64) {
        nodes.withLock { table in
            for position in table.series.indices {
                table.series[position].expire(nowMilliseconds: nowMilliseconds, maxAgeMilliseconds: maxAgeMilliseconds)
            }
        }
    }

    /// Records a committed (or failed) store write.
    public func recordStoreWrite(seconds: Double, failed: Bool) {
        storeWriteDuration.record(seconds)
        if failed { storeErrors.increment() }
    }

    /// Counts samples dropped from a full backlog while the store could not write.
    public func recordDroppedSamples(_ count: Int) {
        if count > 0 { samplesDropped.increment(by: Int64(count)) }
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

    /// Counts a step of the wall clock.
    public func recordClockStep(_ direction: ClockStepDirection) {
        clockSteps[direction]?.increment()
    }

    /// Counts an HTTP request refused with 503 because too many were in progress.
    public func recordRefusedRequest() {
        requestsRefused.increment()
    }

    /// Counts ticks skipped by a stalled process.
    public func recordSkippedTicks(_ count: Int) {
        if count > 0 { ticksSkipped.increment(by: Int64(count)) }
    }

    /// Counts a node annotation write by result; `energy_monitor_annotation_patches_total` has
    /// a series for every result.
    public func recordAnnotationPatch(node: String, result: AnnotationPatchResult) {
        nodes.withLock { table in
            guard table.annotations, let position = table.index[node] else { return }
            table.series[position].annotationPatches[result, default: 0] += 1
        }
    }

    /// The exposition text (format 0.0.4): the registry, the per-node series and the process
    /// metrics.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        let perNode = nodes.withLock { $0.series.count } * 2048
        buffer.reserveCapacity(registry.internalBufferCapacity() + perNode + 1024)
        registry.emit(into: &buffer)
        if let storeFaults { Self.emit(storeFaults, into: &buffer) }
        nodes.withLock { table in NodeSeries.emit(table.series, annotations: table.annotations, into: &buffer) }
        if let rates { nodes.withLock { table in Self.emitFootprint(rates.current, table.series, into: &buffer) } }
        if let pods = podEnergy { buffer.append(contentsOf: pods.render().utf8) }
        buffer.append(contentsOf: ProcessMetrics.render().utf8)
        return buffer
    }
}

/// One node's series and bookkeeping, written in the exposition format swift-prometheus uses:
/// `# HELP` and `# TYPE` once per family, then `name{labels} value` per series, gauges and
/// floating-point counters as Swift prints a Double, integer counts as integers, histograms as
/// cumulative `_bucket` lines with `le`, `+Inf`, `_sum` and `_count`. A family without any
/// series is left out, as the registry leaves out a family with none registered.
struct NodeSeries {
    /// `node="..."`, escaped, rendered once.
    let labels: [UInt8]
    /// `energy_monitor_plug_up`.
    var up = 0.0
    /// `energy_monitor_last_sample_timestamp_seconds`.
    var lastSampleSeconds = 0.0
    var lastSampleMilliseconds: Int64?
    /// The energy counters as exposed: only ever increased, by the counters' increase.
    var energyJoules: Double
    var deviceJoules: Double
    var countedEnergyJoules: Double
    var countedDeviceJoules: Double
    /// The emissions and cost counters as exposed, likewise only ever increased.
    var emissionsGrams: Double
    var cost: Double
    var countedEmissionsGrams: Double
    var countedCost: Double
    /// `energy_monitor_poll_errors_total`, by reason (a reason not counted yet is at 0).
    var pollErrors: [PollErrorReason: Int] = [:]
    /// `energy_monitor_annotation_patches_total`, by result.
    var annotationPatches: [AnnotationPatchResult: Int] = [:]
    /// `energy_monitor_device_energy_refusals_total`, by reason.
    var counterRefusals: [DeviceCounterRefusal.Reason: Int] = [:]
    /// `energy_monitor_gap_seconds_total`, by outcome.
    var gapSeconds: [GapOutcome: Double] = [:]
    /// `energy_monitor_backfilled_joules_total`, by source.
    var backfilledJoules: [BackfillSource: Double] = [:]
    /// `energy_monitor_poll_duration_seconds`: cumulative counts per bucket, sum and count.
    var pollBuckets: [Int]
    var pollSum = 0.0
    var pollCount = 0
    /// The live gauges (power, voltage, current): nil while there is nothing to show.
    var power: Double?
    var volts: Double?
    var amps: Double?
    /// The device's health as last read (about once a minute), and its info labels rendered.
    var health: DeviceHealth?
    var infoLabels: [UInt8]?
    /// `energy_monitor_meter_power_watts` of a node with several meters: labels and watts
    /// (nil while that meter gives no sample or it is stale).
    var meters: [(labels: [UInt8], watts: Double?)] = []

    init(node: String, start: EnergyCounters) {
        labels = Self.labelBytes(MonitorMetrics.labels(node))
        energyJoules = start.energyJoules
        deviceJoules = start.deviceJoules
        countedEnergyJoules = start.energyJoules
        countedDeviceJoules = start.deviceJoules
        emissionsGrams = start.emissionsGrams
        cost = start.cost
        countedEmissionsGrams = start.emissionsGrams
        countedCost = start.cost
        pollBuckets = Array(repeating: 0, count: MonitorMetrics.pollDurationBuckets.count)
        if let last = start.lastTimestampMilliseconds {
            lastSampleSeconds = Double(last) / 1000
        }
    }

    mutating func record(_ sample: Sample, counters: EnergyCounters, pollSeconds: Double) {
        up = 1
        lastSampleSeconds = sample.timestampSeconds
        lastSampleMilliseconds = sample.timestampMilliseconds
        recordDuration(pollSeconds)
        power = sample.reading.watts
        volts = sample.reading.volts
        amps = sample.reading.amps
        // Counters only go up: add the increase since the last report, never a decrease.
        if counters.energyJoules > countedEnergyJoules {
            energyJoules += counters.energyJoules - countedEnergyJoules
            countedEnergyJoules = counters.energyJoules
        }
        if counters.deviceJoules > countedDeviceJoules {
            deviceJoules += counters.deviceJoules - countedDeviceJoules
            countedDeviceJoules = counters.deviceJoules
        }
        if counters.emissionsGrams > countedEmissionsGrams {
            emissionsGrams += counters.emissionsGrams - countedEmissionsGrams
            countedEmissionsGrams = counters.emissionsGrams
        }
        if counters.cost > countedCost {
            cost += counters.cost - countedCost
            countedCost = counters.cost
        }
    }

    mutating func recordFailure(reason: PollErrorReason, pollSeconds: Double) {
        up = 0
        recordDuration(pollSeconds)
        pollErrors[reason, default: 0] += 1
    }

    private mutating func recordDuration(_ seconds: Double) {
        for (index, bound) in MonitorMetrics.pollDurationBuckets.enumerated() where bound >= seconds {
            pollBuckets[index] += 1
        }
        pollSum += seconds
        pollCount += 1
    }

    mutating func expire(nowMilliseconds: Int64, maxAgeMilliseconds: Int64) {
        let fresh = lastSampleMilliseconds.map { nowMilliseconds - $0 <= maxAgeMilliseconds } ?? false
        guard !fresh else { return }
        power = nil
        volts = nil
        amps = nil
        for index in meters.indices { meters[index].watts = nil }
    }

    // MARK: Exposition

    /// Appends every per-node family of `series` to `buffer`, in the registry's order.
    static func emit(_ series: [NodeSeries], annotations: Bool, into buffer: inout [UInt8]) {
        guard !series.isEmpty else { return }
        header(
            "energy_monitor_energy_joules_total", "counter",
            "Energy integrated from power samples (trapezoidal), plus what the device's figures recorded for gaps, joules.",
            into: &buffer)
        for node in series {
            line("energy_monitor_energy_joules_total", node.labels, counter: node.energyJoules, into: &buffer)
        }
        labelledTotals(
            "energy_monitor_backfilled_joules_total",
            "Energy recorded for gaps between samples from the device's own figures, joules, by source "
                + "(included in energy_monitor_energy_joules_total).", "source", series, \.backfilledJoules,
            into: &buffer)
        labelledTotals(
            "energy_monitor_gap_seconds_total",
            "Seconds of gaps between samples longer than the bridging limit, by what became of them.", "outcome",
            series, \.gapSeconds, into: &buffer)
        header(
            "energy_monitor_device_energy_joules_total", "counter",
            "Energy by the plug's own counter, joules; device reboots are new baselines.", into: &buffer
        )
        for node in series {
            line("energy_monitor_device_energy_joules_total", node.labels, counter: node.deviceJoules, into: &buffer)
        }
        labelled(
            "energy_monitor_poll_errors_total", "Polls that produced no sample, by reason.", "reason", series,
            \.pollErrors, into: &buffer
        )
        labelled(
            "energy_monitor_device_energy_refusals_total",
            "Device energy counter readings refused (not stored or published), by reason.", "reason", series,
            \.counterRefusals, into: &buffer
        )
        if annotations {
            labelled(
                "energy_monitor_annotation_patches_total", "Node annotation writes, by result.", "result", series,
                \.annotationPatches, into: &buffer
            )
        }
        gauges(
            "energy_monitor_plug_up", "1 if the last poll of the node's plug gave a sample, else 0.", series,
            into: &buffer
        ) { $0.up }
        gauges(
            "energy_monitor_last_sample_timestamp_seconds", "Unix time of the node's last sample.", series,
            into: &buffer
        ) { $0.lastSampleSeconds }
        let name = "energy_monitor_poll_duration_seconds"
        header(name, "histogram", "Time to poll the node's plug, seconds.", into: &buffer)
        let bounds = MonitorMetrics.pollDurationBuckets.map { labelPart("le", $0.description) }
        for node in series {
            for (index, bound) in bounds.enumerated() {
                line(name + "_bucket", node.labels + bound, count: node.pollBuckets[index], into: &buffer)
            }
            line(name + "_bucket", node.labels + labelPart("le", "+Inf"), count: node.pollCount, into: &buffer)
            line(name + "_sum", node.labels, gauge: node.pollSum, into: &buffer)
            line(name + "_count", node.labels, count: node.pollCount, into: &buffer)
        }
        if series.contains(where: { $0.infoLabels != nil }) {
            header(
                "energy_monitor_device_info", "gauge", "The node's plug: model, generation and firmware; always 1.",
                into: &buffer)
            for node in series {
                if let labels = node.infoLabels { line("energy_monitor_device_info", labels, gauge: 1, into: &buffer) }
            }
        }
        gauges("energy_monitor_device_uptime_seconds", "Seconds since the node's plug booted.", series, into: &buffer) {
            $0.health?.uptimeSeconds
        }
        gauges(
            "energy_monitor_device_temperature_celsius", "Internal temperature of the node's plug, °C.", series,
            into: &buffer
        ) {
            $0.health?.temperatureCelsius
        }
        gauges("energy_monitor_wifi_rssi_dbm", "Wi-Fi signal strength at the node's plug, dBm.", series, into: &buffer)
        { $0.health?.wifiRSSI }
        gauges("energy_monitor_power_watts", "Active power of the node's plug, watts.", series, into: &buffer) {
            $0.power
        }
        if series.contains(where: { $0.meters.contains { $0.watts != nil } }) {
            header(
                "energy_monitor_meter_power_watts", "gauge",
                "Active power of each meter of a node with several, watts.", into: &buffer)
            for node in series {
                for meter in node.meters {
                    if let watts = meter.watts {
                        line("energy_monitor_meter_power_watts", meter.labels, gauge: watts, into: &buffer)
                    }
                }
            }
        }
        gauges("energy_monitor_voltage_volts", "RMS voltage at the node's plug, volts.", series, into: &buffer) {
            $0.volts
        }
        gauges("energy_monitor_current_amperes", "RMS current through the node's plug, amperes.", series, into: &buffer)
        { $0.amps }
    }

    static func header(_ name: String, _ type: String, _ help: String, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
    }

    /// A gauge family with one series per node that has a value; left out when none has one.
    private static func gauges(
        _ name: String, _ help: String, _ series: [NodeSeries], into buffer: inout [UInt8],
        _ value: (NodeSeries) -> Double?
    ) {
        guard series.contains(where: { value($0) != nil }) else { return }
        header(name, "gauge", help, into: &buffer)
        for node in series {
            if let number = value(node) { line(name, node.labels, gauge: number, into: &buffer) }
        }
    }

    /// A counter family with one series per node and value of `label`: every case of `Value`,
    /// in declaration order, so no value can go missing.
    private static func labelled<Value: CaseIterable & Hashable & RawRepresentable<String>>(
        _ name: String, _ help: String, _ label: String, _ series: [NodeSeries],
        _ counts: KeyPath<NodeSeries, [Value: Int]>, into buffer: inout [UInt8]
    ) {
        header(name, "counter", help, into: &buffer)
        let parts = Value.allCases.map { ($0, labelPart(label, $0.rawValue)) }
        for node in series {
            let counted = node[keyPath: counts]
            for (value, part) in parts {
                line(name, node.labels + part, count: counted[value, default: 0], into: &buffer)
            }
        }
    }

    /// A floating-point counter family with one series per node and value of `label`, every
    /// case of `Value` in declaration order (0 until it moved).
    private static func labelledTotals<Value: CaseIterable & Hashable & RawRepresentable<String>>(
        _ name: String, _ help: String, _ label: String, _ series: [NodeSeries],
        _ totals: KeyPath<NodeSeries, [Value: Double]>, into buffer: inout [UInt8]
    ) {
        header(name, "counter", help, into: &buffer)
        let parts = Value.allCases.map { ($0, labelPart(label, $0.rawValue)) }
        for node in series {
            let counted = node[keyPath: totals]
            for (value, part) in parts {
                line(name, node.labels + part, counter: counted[value, default: 0], into: &buffer)
            }
        }
    }

    static func line(_ name: String, _ labels: [UInt8], gauge value: Double, into buffer: inout [UInt8]) {
        line(name, labels, text: value.description, into: &buffer)
    }

    /// A floating-point counter as swift-prometheus writes one: the integer 0 until it moved.
    static func line(_ name: String, _ labels: [UInt8], counter value: Double, into buffer: inout [UInt8]) {
        line(name, labels, text: value == 0 ? "0" : value.description, into: &buffer)
    }

    private static func line(_ name: String, _ labels: [UInt8], count: Int, into buffer: inout [UInt8]) {
        line(name, labels, text: String(count), into: &buffer)
    }

    private static func line(_ name: String, _ labels: [UInt8], text: String, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: name.utf8)
        buffer.append(UInt8(ascii: "{"))
        buffer.append(contentsOf: labels)
        buffer.append(contentsOf: "} ".utf8)
        buffer.append(contentsOf: text.utf8)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// `,name="value"`, to follow the node label.
    static func labelPart(_ name: String, _ value: String) -> [UInt8] {
        [UInt8(ascii: ",")] + labelBytes([(name, value)])
    }

    /// `name="value",...` with label values escaped as the exposition format requires.
    static func labelBytes(_ labels: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
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
        return bytes
    }
}

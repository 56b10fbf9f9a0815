import EnergyModel
import ShellyPoller

/// One poll tick as every consumer sees it: the poll loop's report plus what the monitor
/// derived from it before handing it on (the samples, the failures, every node's running
/// energy counters after this tick's samples).
public struct Tick: Sendable {
    /// What the poll loop reported: boundary, start latency, skipped ticks, one outcome per plug.
    public var report: TickReport
    /// The samples of this tick, in plug order.
    public var samples: [Sample]
    /// Nodes without a sample this tick, with the reason.
    public var failures: [String: PollFailure]
    /// Every node's energy counters, this tick's samples included.
    public var counters: [String: EnergyCounters]
    /// How each sample's device counter was taken, by node (nodes whose sample carried one).
    /// A refused counter is already removed from its sample.
    public var deviceCounters: [String: DeviceCounterVerdict] = [:]
    /// The gaps settled in this tick, with their nodes, in the order they were settled: ended
    /// by this tick's sample (or, for a gap that waited for its device's history or its last
    /// minute's figure, settled by what came), with the energy recorded for them. Their energy
    /// is already in `counters`. A node can have two (one that waited, and a new one).
    public var gaps: [(node: String, gap: EnergyGap)] = []
    /// Histories to read for gaps that ended in this tick, by node.
    public var historyRequests: [String: HistoryRequest] = [:]

    /// The tick boundary, unix milliseconds.
    public var tickMilliseconds: Int64 { report.tickMilliseconds }
}

/// Something that consumes every tick: the store, `/metrics`, node annotations, the plug
/// status log, and whatever is added later (one type per file, the way node_exporter has one
/// collector per file). The monitor calls its consumers in order, one tick at a time, on the
/// task that stores ticks; `consume` must hand long work (network writes) to a task of its
/// own, so that a slow consumer never delays the next tick.
public protocol TickConsumer: Sendable {
    /// Takes one tick.
    func consume(_ tick: Tick) async
}

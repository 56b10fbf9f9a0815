import EnergyModel
import EnergyQueries
import Foundation
import Store

/// The JSON API behind the built-in dashboard, answered from the store:
/// `GET /api/v1/power` (downsampled power series), `GET /api/v1/nodes` (the state of
/// every plug now) and `GET /api/v1/energy` (joules of a window, as the `energy` command);
/// `GET /api/v1/pods` and `GET /api/v1/pods/power` answer the pods' attributed energy
/// (`PodEnergyReport`, `PodPowerReport`).
public struct DashboardAPI: Sendable {
    /// The store the answers come from.
    public let store: EnergyStore
    /// The monitored nodes, in configuration order.
    public let nodes: [String]
    /// The poll interval; a node whose newest sample is older than 3 intervals is down.
    public let intervalMilliseconds: Int64
    /// What each node's plug last said about itself (model, firmware), if known.
    public let devices: @Sendable (String) -> DeviceHealth?
    /// The gap of each node the service is still closing from the device's figures, if any:
    /// `[from, to)`, unix milliseconds.
    public let pendingGap: @Sendable (String) -> (from: Int64, to: Int64)?
    /// When the service is one shard of several: how `power` and `energy` queries reach the
    /// owners of other shards' nodes (nil: one monitor of every node).
    public let router: ShardRouter?
    /// The carbon intensity and price in force over time, as the service knows them now
    /// (empty: neither configured, and the answers carry energy alone).
    public let rates: @Sendable () -> FootprintRates

    /// Creates the API over `store` for `nodes`; `devices` names each node's plug,
    /// `pendingGap` the gap it is still closing, `router` the other shards, `rates` the
    /// intensity and price to weigh energy with.
    public init(
        store: EnergyStore, nodes: [String], intervalMilliseconds: Int64,
        devices: @escaping @Sendable (String) -> DeviceHealth? = { _ in nil },
        pendingGap: @escaping @Sendable (String) -> (from: Int64, to: Int64)? = { _ in nil },
        router: ShardRouter? = nil, rates: @escaping @Sendable () -> FootprintRates = { FootprintRates() }
    ) {
        self.store = store
        self.nodes = nodes
        self.intervalMilliseconds = intervalMilliseconds
        self.devices = devices
        self.pendingGap = pendingGap
        self.router = router
        self.rates = rates
    }

    /// The body of `GET /api/v1/power`.
    public struct PowerResponse: Codable, Sendable, Equatable {
        /// Window start, unix milliseconds.
        public var from: Int64
        /// Window end (exclusive), unix milliseconds.
        public var to: Int64
        /// Width of one point, milliseconds.
        public var step: Int64
        /// One series per node asked for, in the order asked.
        public var series: [PowerSeries]
    }

    /// The power of one node over a window.
    public struct PowerSeries: Codable, Sendable, Equatable {
        /// The node.
        public var node: String
        /// `[stepStartMilliseconds, averageWatts]` pairs, oldest first; steps without samples
        /// are missing, not zero.
        public var points: [[Double]]
        /// Time of the newest sample in the window, unix milliseconds (nil without samples).
        public var lastSample: Int64?
    }

    /// The body of `GET /api/v1/nodes`.
    public struct NodesResponse: Codable, Sendable, Equatable {
        /// The time of the answer, unix milliseconds.
        public var now: Int64
        /// The poll interval, milliseconds.
        public var interval: Int64
        /// Start of "today" (midnight UTC), unix milliseconds.
        public var todayFrom: Int64
        /// One entry per monitored node, in configuration order.
        public var nodes: [NodeStatus]
    }

    /// The state of one node's plug.
    public struct NodeStatus: Codable, Sendable, Equatable {
        /// The node.
        public var node: String
        /// True when the newest sample is at most 3 intervals old.
        public var up: Bool
        /// Power of the newest sample, watts (nil while down).
        public var watts: Double?
        /// Time of the newest sample, unix milliseconds (nil if the store has none).
        public var lastSample: Int64?
        /// Energy since midnight UTC, joules: integrated from the samples (trapezoidal), plus
        /// what the device's figures recorded for the gaps of more than 3 intervals.
        public var energyTodayJoules: Double
        /// Of those, the joules recorded for gaps (backfilled).
        public var backfilledTodayJoules: Double
        /// Share of the time since midnight UTC the samples cover, 0...100.
        public var coverageTodayPercent: Double
        /// Share of the time since midnight UTC covered by backfilled energy, 0...100.
        public var backfilledTodayPercent: Double
        /// The plug's model, once read.
        public var model: String?
        /// The plug's firmware, once read.
        public var firmware: String?
        /// Emissions since midnight UTC, grams of CO2-equivalent (absent when no `carbon:` is
        /// configured or the intensity is not known for all of today's energy).
        public var emissionsTodayGrams: Double?
        /// Cost since midnight UTC (absent when no `price:` is configured).
        public var costToday: Double?
        /// The currency of `costToday`.
        public var currency: String?
    }

    /// Answers a validated power query.
    public func power(_ query: PowerQuery) async throws(StoreError) -> PowerResponse {
        var series: [PowerSeries] = []
        for node in query.nodes {
            let buckets = try await store.powerSeries(
                node: node,
                fromMilliseconds: query.fromMilliseconds,
                toMilliseconds: query.toMilliseconds,
                stepMilliseconds: query.stepMilliseconds
            )
            series.append(
                PowerSeries(
                    node: node,
                    points: buckets.map { [Double($0.startMilliseconds), Self.rounded($0.averageWatts)] },
                    lastSample: buckets.last?.lastSampleMilliseconds
                )
            )
        }
        return PowerResponse(
            from: query.fromMilliseconds,
            to: query.toMilliseconds,
            step: query.stepMilliseconds,
            series: series
        )
    }

    /// The state of every plug at `nowMilliseconds`.
    public func status(nowMilliseconds: Int64) async throws(StoreError) -> NodesResponse {
        let midnight = nowMilliseconds - ((nowMilliseconds % 86_400_000) + 86_400_000) % 86_400_000
        var statuses: [NodeStatus] = []
        let rates = rates()
        for node in nodes {
            let latest = try await store.latestSample(node: node)
            // Up: the newest sample is at most 3 intervals old, and not from the future (a sample
            // stamped ahead of the clock says nothing about now).
            let up =
                latest.map {
                    let age = nowMilliseconds - $0.timestampMilliseconds
                    return age >= -intervalMilliseconds && age <= 3 * intervalMilliseconds
                } ?? false
            // Today's energy and its footprint up to the newest sample read above, so that both
            // are of the same samples: a tick stamped before now but committed between the two
            // reads (late, on a loaded machine) would otherwise count in one of them only.
            // Nothing after that sample counts in either way.
            let end = max(midnight, min(nowMilliseconds, latest?.timestampMilliseconds ?? nowMilliseconds)) + 1
            let today = try await store.energy(
                node: node,
                fromMilliseconds: midnight,
                toMilliseconds: end,
                maxGapMilliseconds: 3 * intervalMilliseconds
            )
            statuses.append(
                NodeStatus(
                    node: node,
                    up: up,
                    watts: up ? latest.map { Self.rounded($0.reading.watts) } : nil,
                    lastSample: latest?.timestampMilliseconds,
                    energyTodayJoules: Self.rounded(today.joules),
                    backfilledTodayJoules: Self.rounded(today.backfill.joules),
                    coverageTodayPercent: Self.rounded(today.coveragePercent),
                    backfilledTodayPercent: Self.rounded(today.backfilledPercent),
                    model: devices(node)?.model,
                    firmware: devices(node)?.firmware
                )
            )
            guard !rates.isEmpty else { continue }
            let footprint = try await EnergyReport.footprint(
                store: store, node: node, fromMilliseconds: midnight, toMilliseconds: end,
                intervalMilliseconds: intervalMilliseconds, rates: rates)
            statuses[statuses.count - 1].emissionsTodayGrams = footprint.gramsCO2e.map { Self.rounded($0) }
            statuses[statuses.count - 1].costToday = footprint.cost.map { ($0 * 10_000).rounded() / 10_000 }
            statuses[statuses.count - 1].currency = footprint.cost == nil ? nil : footprint.currency
        }
        return NodesResponse(now: nowMilliseconds, interval: intervalMilliseconds, todayFrom: midnight, nodes: statuses)
    }

    /// The body of `GET /api/v1/energy`: what `energy-monitor energy --format json` answers for
    /// the same window, with the interval the service recorded in the store (as the command
    /// reads it), else this API's.
    public func energy(_ query: EnergyQuery) async throws(StoreError) -> EnergyReport {
        let interval = try await EnergyReport.intervalMilliseconds(of: store, fallback: intervalMilliseconds)
        var report = try await EnergyReport.compute(store: store, query: query, intervalMilliseconds: interval)
        try await report.addFootprints(store: store, intervalMilliseconds: interval, rates: rates())
        let window = query.toMilliseconds - query.fromMilliseconds
        for node in query.nodes where window > 0 {
            guard let gap = pendingGap(node) else { continue }
            let overlap = min(gap.to, query.toMilliseconds) - max(gap.from, query.fromMilliseconds)
            if overlap > 0 { report.pendingPercent[node] = 100 * Double(overlap) / Double(window) }
        }
        return report
    }

    /// Two decimals are all a plug resolves; shorter JSON for the live chart.
    static func rounded(_ value: Double) -> Double {
        (value * 100).rounded() / 100
    }

    /// Compact JSON (keys sorted, so answers are stable to compare).
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

import EnergyModel
import Foundation
import Store

/// The figures of nodes over one window, computed and written one way for every reader:
/// `energy-monitor energy` (table, JSON, CSV) and `GET /api/v1/energy` (the same JSON), so
/// the workflow runner gets the same answer through the monitor as from a local store.
///
/// `joules` is the complete figure: what the samples measured plus what the devices' own
/// figures recorded for the gaps between them (`measuredJoules`, `backfilledJoules`).
/// `coveragePercent` is the share of the window the samples cover, `backfilledPercent` the
/// share the devices' figures cover, `missingPercent` what neither covers. Average watts are
/// the joules over the covered and backfilled time. The new columns follow the old ones, so
/// readers of the old columns read on.
///
/// With a `carbon:` or `price:` configured (`footprints` set), each entry also carries
/// `kwh`, `gramsCO2e`, `cost` and `currency`, integrated minute by minute with the intensity
/// and price in force (see `FootprintRates`); a figure not configured or not known for part of
/// the window is null (empty in CSV), never 0. Without either they are left out.
public struct EnergyReport: Sendable {
    /// Output formats.
    public enum Format: String, Sendable, CaseIterable {
        /// Aligned columns for people.
        case table
        /// `[{"node","from","to","joules","avgWatts","peakWatts","samples","coveragePercent",
        /// "measuredJoules","backfilledJoules","backfilledPercent","missingPercent"}]`.
        case json
        /// `node,from,to,joules,avg_watts,peak_watts,samples,coverage_percent,measured_joules,
        /// backfilled_joules,backfilled_percent,missing_percent`.
        case csv
    }

    /// One entry per node, in the order asked.
    public let results: [EnergyStore.NodeEnergy]
    /// By node, the share of the window (percent) in gaps the running service is still closing
    /// from the device's figures (their last minute's figure or the device's history not read
    /// yet): known only to the service, so only `GET /api/v1/energy` sets it, and the JSON
    /// carries `pendingPercent` only where it is above 0 (ask again a minute later).
    public var pendingPercent: [String: Double] = [:]

    /// By node, what the energy emitted and cost; nil when neither `carbon:` nor `price:` is
    /// configured, and then the report carries none of those figures.
    public var footprints: [String: WindowFootprint]?

    /// A report of `results`.
    public init(results: [EnergyStore.NodeEnergy], footprints: [String: WindowFootprint]? = nil) {
        self.results = results
        self.footprints = footprints
    }

    /// The footprint of `node` over `[from, to)` under `rates`: the window split at every
    /// minute boundary and change of intensity, each piece's joules from the store.
    public static func footprint(
        store: EnergyStore, node: String, fromMilliseconds: Int64, toMilliseconds: Int64,
        intervalMilliseconds: Int64, rates: FootprintRates
    ) async throws(StoreError) -> WindowFootprint {
        let cuts = rates.cuts(from: fromMilliseconds, to: toMilliseconds)
        let joules = try await store.energyPieces(
            node: node, cuts: cuts, maxGapMilliseconds: 3 * max(1, intervalMilliseconds))
        return rates.footprint(cuts: cuts, joules: joules)
    }

    /// Adds every node's footprint under `rates` (nothing when `rates` holds neither figure).
    public mutating func addFootprints(
        store: EnergyStore, intervalMilliseconds: Int64, rates: FootprintRates
    ) async throws(StoreError) {
        guard !rates.isEmpty else { return }
        var footprints: [String: WindowFootprint] = [:]
        for result in results {
            footprints[result.node] = try await Self.footprint(
                store: store, node: result.node, fromMilliseconds: result.fromMilliseconds,
                toMilliseconds: result.toMilliseconds, intervalMilliseconds: intervalMilliseconds, rates: rates)
        }
        self.footprints = footprints
    }

    /// Integrates every node of `nodes` over `[from, to)`, bridging gaps of up to 3 poll
    /// intervals (`intervalMilliseconds`, as the service recorded it).
    public static func compute(
        store: EnergyStore, nodes: [String], fromMilliseconds: Int64, toMilliseconds: Int64, intervalMilliseconds: Int64
    ) async throws(StoreError) -> EnergyReport {
        var results: [EnergyStore.NodeEnergy] = []
        for node in nodes {
            results.append(
                try await store.energy(
                    node: node, fromMilliseconds: fromMilliseconds, toMilliseconds: toMilliseconds,
                    maxGapMilliseconds: 3 * max(1, intervalMilliseconds)))
        }
        return EnergyReport(results: results)
    }

    /// Integrates the nodes and window of `query`.
    public static func compute(
        store: EnergyStore, query: EnergyQuery, intervalMilliseconds: Int64
    ) async throws(StoreError) -> EnergyReport {
        try await compute(
            store: store, nodes: query.nodes, fromMilliseconds: query.fromMilliseconds,
            toMilliseconds: query.toMilliseconds, intervalMilliseconds: intervalMilliseconds)
    }

    /// The poll interval to integrate with: `override` when given, else the one the service
    /// recorded in the store, else `fallback`. Every reader of a store chooses it this way,
    /// so that the same window gets the same joules from each.
    public static func intervalMilliseconds(
        of store: EnergyStore, override: Int64? = nil, fallback: Int64
    ) async throws(StoreError) -> Int64 {
        if let override { return override }
        return try await store.interval() ?? fallback
    }

    /// The report as text in `format`.
    public func render(_ format: Format) -> String {
        switch format {
        case .table: table()
        case .json: json()
        case .csv: csv()
        }
    }

    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    private static func number(_ value: Double?, _ digits: Int) -> String {
        guard let value else { return "" }
        return String(format: "%.\(digits)f", value)
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    private func table() -> String {
        var lines = [
            "node".padding(toLength: 12, withPad: " ", startingAt: 0)
                + "from                  to                         joules    avg W   peak W  samples  coverage"
                + "       measured     backfilled  backfilled  missing"
                + (footprints == nil ? "" : "          kWh       g CO2e             cost")
        ]
        for result in results {
            let energy = result.energy
            lines.append(
                result.node.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + Self.time(result.fromMilliseconds) + "  " + Self.time(result.toMilliseconds)
                    + String(format: " %14.1f", result.joules)
                    + " " + Self.padded(Self.number(result.averageWatts, 2), 8)
                    + " " + Self.padded(Self.number(energy.peakWatts, 2), 8)
                    + " " + Self.padded(String(energy.samples), 8)
                    + " " + Self.padded(String(format: "%.1f", result.coveragePercent) + " %", 9)
                    + String(format: " %14.1f %14.1f", energy.joules, result.backfill.joules)
                    + " " + Self.padded(String(format: "%.1f", result.backfilledPercent) + " %", 11)
                    + " " + Self.padded(String(format: "%.1f", result.missingPercent) + " %", 8)
                    + footprintColumns(result.node)
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The table's footprint columns of `node` (none without a footprint).
    private func footprintColumns(_ node: String) -> String {
        guard let footprints else { return "" }
        let figures = footprints[node]
        let cost = figures?.cost.map { String(format: "%.6f", $0) + " " + (figures?.currency ?? "") } ?? "-"
        let grams = Self.number(figures?.gramsCO2e, 3)
        return " " + Self.padded(figures.map { String(format: "%.6f", $0.kwh) } ?? "-", 12)
            + " " + Self.padded(grams.isEmpty ? "-" : grams, 12) + " " + Self.padded(cost, 16)
    }

    private func csv() -> String {
        var lines = [
            "node,from,to,joules,avg_watts,peak_watts,samples,coverage_percent,measured_joules,backfilled_joules,"
                + "backfilled_percent,missing_percent" + (footprints == nil ? "" : ",kwh,grams_co2e,cost,currency")
        ]
        for result in results {
            let energy = result.energy
            lines.append(
                [
                    result.node, Self.time(result.fromMilliseconds), Self.time(result.toMilliseconds),
                    String(format: "%.3f", result.joules), Self.number(result.averageWatts, 3),
                    Self.number(energy.peakWatts, 3), String(energy.samples),
                    String(format: "%.2f", result.coveragePercent), String(format: "%.3f", energy.joules),
                    String(format: "%.3f", result.backfill.joules), String(format: "%.2f", result.backfilledPercent),
                    String(format: "%.2f", result.missingPercent),
                ].joined(separator: ",") + csvFootprint(result.node)
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The CSV's footprint columns of `node`, each led by a comma (none without a footprint).
    private func csvFootprint(_ node: String) -> String {
        guard let footprints else { return "" }
        let figures = footprints[node]
        let currency = figures?.cost == nil ? "" : (figures?.currency ?? "")
        return ","
            + [
                Self.number(figures?.kwh, 6), Self.number(figures?.gramsCO2e, 3), Self.number(figures?.cost, 6),
                currency,
            ].joined(separator: ",")
    }

    /// The JSON's footprint members of `node`, each led by a comma (none without a footprint).
    private func jsonFootprint(_ node: String) -> String {
        guard let footprints else { return "" }
        let figures = footprints[node]
        func value(_ number: Double?, _ digits: Int) -> String {
            number.map { String(format: "%.\(digits)f", $0) } ?? "null"
        }
        let currency = figures?.cost == nil ? "null" : (figures?.currency.map(Self.jsonString) ?? "null")
        return ",\"kwh\":\(value(figures?.kwh, 6)),\"gramsCO2e\":\(value(figures?.gramsCO2e, 3)),"
            + "\"cost\":\(value(figures?.cost, 6)),\"currency\":\(currency)"
    }

    private func json() -> String {
        let objects = results.map { result -> String in
            let energy = result.energy
            let average = result.averageWatts.map { String(format: "%.3f", $0) } ?? "null"
            let peak = energy.peakWatts.map { String(format: "%.3f", $0) } ?? "null"
            return "{\"node\":\(Self.jsonString(result.node)),\"from\":\"\(Self.time(result.fromMilliseconds))\","
                + "\"to\":\"\(Self.time(result.toMilliseconds))\",\"joules\":\(String(format: "%.3f", result.joules)),"
                + "\"avgWatts\":\(average),\"peakWatts\":\(peak),\"samples\":\(energy.samples),"
                + "\"coveragePercent\":\(String(format: "%.2f", result.coveragePercent)),"
                + "\"measuredJoules\":\(String(format: "%.3f", energy.joules)),"
                + "\"backfilledJoules\":\(String(format: "%.3f", result.backfill.joules)),"
                + "\"backfilledPercent\":\(String(format: "%.2f", result.backfilledPercent)),"
                + "\"missingPercent\":\(String(format: "%.2f", result.missingPercent))"
                + ((pendingPercent[result.node] ?? 0) > 0
                    ? ",\"pendingPercent\":\(String(format: "%.2f", pendingPercent[result.node] ?? 0))" : "")
                + jsonFootprint(result.node) + "}"
        }
        return "[" + objects.joined(separator: ",") + "]"
    }

    /// Node names are DNS subdomains, but the store takes what the configuration gave it.
    static func jsonString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

import CurlClient
import EnergyModel
import EnergyQueries
import Foundation
import JSON
import Kubernetes
import Store

/// A node's energy figures over a window, however obtained.
public struct EnergyFigures: Sendable, Equatable {
    /// Joules: measured, plus what the plug's own figures recorded for gaps in the samples (a
    /// monitor restart, an unreachable plug).
    public var joules: Double
    /// Joules over the covered and backfilled seconds; nil without either.
    public var averageWatts: Double?
    /// Share of the window the samples cover, percent.
    public var coveragePercent: Double
    /// Samples inside the window.
    public var samples: Int
    /// Of `joules`, those recorded for gaps from the plug's own figures (backfilled).
    public var backfilledJoules: Double
    /// Share of the window the backfilled joules cover, percent.
    public var backfilledPercent: Double
    /// Share of the window in a gap the monitor is still closing from the plug's own figures,
    /// percent (asked again until it is 0).
    public var pendingPercent: Double = 0
    /// Kilowatt-hours, emissions and cost of the window, integrated minute by minute with the
    /// intensity and price in force; nil when neither is configured.
    public var footprint: WindowFootprint?

    /// Creates figures.
    public init(
        joules: Double, averageWatts: Double?, coveragePercent: Double, samples: Int, backfilledJoules: Double = 0,
        backfilledPercent: Double = 0, pendingPercent: Double = 0
    ) {
        self.pendingPercent = pendingPercent
        self.joules = joules
        self.averageWatts = averageWatts
        self.coveragePercent = coveragePercent
        self.samples = samples
        self.backfilledJoules = backfilledJoules
        self.backfilledPercent = backfilledPercent
    }

    /// The share of the window with energy, measured or backfilled, percent.
    public var completePercent: Double { min(100, coveragePercent + backfilledPercent) }
}

/// Where the runner gets a node's joules for a phase's window: the monitor over HTTP, or a
/// local store. Both integrate the same way (`EnergyReport`).
public protocol EnergySource: Sendable {
    /// The figures of `node` over `[from, to)` (unix milliseconds).
    func energy(node: String, fromMilliseconds: Int64, toMilliseconds: Int64) async throws -> EnergyFigures

    /// The joules the monitor attributed to pods on `node` over `[from, to)` other than
    /// `pod` in `namespace` (per-pod energy); nil when it attributed nothing there (per-pod
    /// energy off, or no metrics for that time).
    func otherPods(node: String, namespace: String, pod: String, fromMilliseconds: Int64, toMilliseconds: Int64)
        async throws -> OtherPods?
}

/// What other pods on a node were attributed over a window (per-pod energy).
public struct OtherPods: Sendable, Equatable {
    /// Their joules.
    public var joules: Double
    /// Up to when the node's energy is attributed so far (unix milliseconds): the monitor
    /// splits a window some seconds after it ends.
    public var attributedUntilMilliseconds: Int64

    /// Creates figures.
    public init(joules: Double, attributedUntilMilliseconds: Int64) {
        self.joules = joules
        self.attributedUntilMilliseconds = attributedUntilMilliseconds
    }
}

extension EnergySource {
    /// No per-pod figures.
    public func otherPods(
        node: String, namespace: String, pod: String, fromMilliseconds: Int64, toMilliseconds: Int64
    ) async throws -> OtherPods? { nil }
}

/// Why no energy figures could be had, in one line.
public struct EnergySourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// The monitor's `GET /api/v1/energy` (through its Service or a port-forward).
public struct MonitorEnergySource: EnergySource {
    /// The monitor's base URL, e.g. `http://127.0.0.1:9840`.
    public let baseURL: String
    private let http: CurlMultiClient
    /// The intensity and price of `workflow --config`: each window's footprint is then
    /// integrated here from the monitor's joules of every piece (minute, or up to a change).
    /// Without them (or with an intensity the monitor keeps, from Electricity Maps), the
    /// monitor's own figures are taken where it gives them.
    private let rates: FootprintRates

    /// Asks the monitor at `baseURL` (an `http://` or `https://` URL) through `http`; with
    /// `rates`, integrates each window's emissions and cost with them.
    public init(baseURL: String, http: CurlMultiClient, rates: FootprintRates = FootprintRates())
        throws(EnergySourceError)
    {
        self.rates = rates
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://"), base.count > 8, !base.contains("?"),
            !base.contains(" ")
        else {
            throw EnergySourceError(
                "--monitor: \"\(baseURL)\" is not an http:// URL of the monitor (e.g. http://127.0.0.1:9840)")
        }
        self.baseURL = base
        self.http = http
    }

    /// Checks that `baseURL` is an energy-monitor answering `GET /api/v1/energy` (so a wrong
    /// URL fails before the first Job, not after it).
    public func check() async throws {
        let response: HTTPResponse
        do {
            response = try await http.perform(
                HTTPRequest(url: "\(baseURL)/api/v1/energy?from=now-1m", timeoutMilliseconds: 15_000))
        } catch {
            throw EnergySourceError("--monitor \(baseURL): \(error)")
        }
        guard response.status == 200, JSONValue.parse(response.body)?.array != nil else {
            throw EnergySourceError(
                "--monitor \(baseURL): GET /api/v1/energy answered HTTP \(response.status), not energy figures (is this an energy-monitor?)"
            )
        }
    }

    /// Asks for one node's window.
    public func energy(node: String, fromMilliseconds from: Int64, toMilliseconds to: Int64) async throws
        -> EnergyFigures
    {
        var figures = try await window(node: node, from: from, to: to)
        // Pieces are asked for only when there is something local to weigh them with.
        if rates.tariff != nil || !(rates.intensity?.isEmpty ?? true), to > from {
            let cuts = rates.cuts(from: from, to: to)
            var joules: [Double] = []
            for index in 0..<(cuts.count - 1) {
                joules.append(try await window(node: node, from: cuts[index], to: cuts[index + 1]).joules)
            }
            var local = rates.footprint(cuts: cuts, joules: joules)
            // The monitor's own intensity (Electricity Maps, kept in its store) where none is local.
            if rates.intensity?.isEmpty ?? true, let theirs = figures.footprint?.gramsCO2e {
                local.gramsCO2e = theirs
            }
            figures.footprint = local
        }
        return figures
    }

    /// The monitor's answer for one node's window.
    private func window(node: String, from: Int64, to: Int64) async throws -> EnergyFigures {
        let url =
            "\(baseURL)/api/v1/energy?node=\(KubernetesClient.queryValue(node))&from=\(Self.seconds(from))&to=\(Self.seconds(to))"
        let response: HTTPResponse
        do {
            response = try await http.perform(
                HTTPRequest(url: url, timeoutMilliseconds: 30_000, maxResponseBytes: 1 << 20))
        } catch {
            throw EnergySourceError("monitor \(baseURL): \(error)")
        }
        let text =
            String(decoding: response.body.prefix(300), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(
                String.init) ?? ""
        guard response.status == 200 else {
            throw EnergySourceError("monitor \(baseURL): HTTP \(response.status): \(text)")
        }
        guard let entry = JSONValue.parse(response.body)?[0], let joules = entry["joules"]?.number,
            let coverage = entry["coveragePercent"]?.number
        else {
            throw EnergySourceError(
                "monitor \(baseURL): /api/v1/energy did not answer with energy figures (is this an energy-monitor?)")
        }
        // A monitor from before backfilling answers without the backfilled figures: none then.
        var figures = EnergyFigures(
            joules: joules, averageWatts: entry["avgWatts"]?.number, coveragePercent: coverage,
            samples: entry["samples"]?.integer.flatMap { Int(exactly: $0) } ?? 0,
            backfilledJoules: entry["backfilledJoules"]?.number ?? 0,
            backfilledPercent: entry["backfilledPercent"]?.number ?? 0,
            pendingPercent: entry["pendingPercent"]?.number ?? 0)
        // A monitor with `carbon:` or `price:` adds its footprint.
        if let kwh = entry["kwh"]?.number {
            figures.footprint = WindowFootprint(
                kwh: kwh, gramsCO2e: entry["gramsCO2e"]?.number, cost: entry["cost"]?.number,
                currency: entry["currency"]?.string)
        }
        return figures
    }

    /// Asks `GET /api/v1/pods` for the node's window; a monitor without that route (an older
    /// one) has no per-pod figures.
    public func otherPods(
        node: String, namespace: String, pod: String, fromMilliseconds from: Int64, toMilliseconds to: Int64
    ) async throws -> OtherPods? {
        guard let window = try await podReport(node: node, from: Self.seconds(from), to: Self.seconds(to)) else {
            return nil
        }
        guard !window.pods.isEmpty || !window.nodes.isEmpty else {
            // Nothing in the window yet: per-pod energy is on when the node has rows of the
            // hour before (the window's are written some seconds after it ends).
            guard let recent = try await podReport(node: node, from: Self.seconds(from - 3_600_000), to: "now"),
                !recent.pods.isEmpty || !recent.nodes.isEmpty
            else { return nil }
            return OtherPods(joules: 0, attributedUntilMilliseconds: min(Self.until(recent), from))
        }
        var others = 0.0
        for entry in window.pods {
            guard !(entry["namespace"]?.string == namespace && entry["pod"]?.string == pod),
                let joules = entry["attributedJoules"]?.number, joules.isFinite
            else { continue }
            others += joules
        }
        return OtherPods(joules: others, attributedUntilMilliseconds: Self.until(window))
    }

    /// The end of the latest attributed part in a `/api/v1/pods` answer.
    private static func until(_ report: (pods: [JSONValue], nodes: [JSONValue])) -> Int64 {
        var until = Int64.min
        for entry in report.pods { if let end = entry["to"]?.integer { until = max(until, end) } }
        for entry in report.nodes { if let end = entry["attributedUntil"]?.integer { until = max(until, end) } }
        return until
    }

    /// `GET /api/v1/pods` for a node; nil when the monitor has no such route (an older one).
    private func podReport(node: String, from: String, to: String) async throws -> (
        pods: [JSONValue], nodes: [JSONValue]
    )? {
        let url = "\(baseURL)/api/v1/pods?node=\(KubernetesClient.queryValue(node))&from=\(from)&to=\(to)"
        let response: HTTPResponse
        do {
            response = try await http.perform(
                HTTPRequest(url: url, timeoutMilliseconds: 30_000, maxResponseBytes: 64 << 20))
        } catch {
            throw EnergySourceError("monitor \(baseURL): \(error)")
        }
        guard response.status == 200 else { return nil }
        guard let answer = JSONValue.parse(response.body), let pods = answer["pods"]?.array,
            let nodes = answer["nodes"]?.array
        else {
            throw EnergySourceError("monitor \(baseURL): /api/v1/pods did not answer with pod figures")
        }
        return (pods, nodes)
    }

    /// Unix seconds with milliseconds, as `TimeParsing` reads them.
    static func seconds(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        let fraction = String(magnitude % 1000)
        return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

/// A local SQLite store of the monitor (`--database`), integrated as `energy` does.
public struct StoreEnergySource: EnergySource {
    private let store: EnergyStore
    private let intervalMilliseconds: Int64
    /// The intensity and price each window's footprint is integrated with (empty: none).
    public private(set) var rates = FootprintRates()

    /// Opens `path` read-only; `intervalMilliseconds` overrides the interval the service
    /// recorded in it.
    public init(path: String, intervalMilliseconds: Int64? = nil) async throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EnergySourceError("--database: \(path) does not exist")
        }
        store = try EnergyStore(path: path, readOnly: true)
        self.intervalMilliseconds = try await EnergyReport.intervalMilliseconds(
            of: store, override: intervalMilliseconds, fallback: 1000)
    }

    /// Integrates one node's window; an unknown node has no samples (coverage 0).
    public func energy(node: String, fromMilliseconds from: Int64, toMilliseconds to: Int64) async throws
        -> EnergyFigures
    {
        let report = try await EnergyReport.compute(
            store: store, nodes: [node], fromMilliseconds: from, toMilliseconds: to,
            intervalMilliseconds: intervalMilliseconds)
        guard let result = report.results.first else { throw EnergySourceError("no figures for \(node)") }
        var figures = EnergyFigures(
            joules: result.joules, averageWatts: result.averageWatts, coveragePercent: result.coveragePercent,
            samples: result.energy.samples, backfilledJoules: result.backfill.joules,
            backfilledPercent: result.backfilledPercent)
        if !rates.isEmpty {
            figures.footprint = try await EnergyReport.footprint(
                store: store, node: node, fromMilliseconds: from, toMilliseconds: to,
                intervalMilliseconds: intervalMilliseconds, rates: rates)
        }
        return figures
    }

    /// The same source integrating emissions and cost with `settings`; an intensity from
    /// Electricity Maps is read from the store's cache.
    public func with(_ settings: FootprintSettings) async throws -> StoreEnergySource {
        var copy = self
        var cached: StepSeries?
        if case .electricityMaps(let maps) = settings.carbon {
            cached = try await store.cachedIntensity(zone: maps.zone)
        }
        copy.rates = settings.rates(cached: cached)
        return copy
    }

    /// The other pods' joules on the node from the store's `pod_energy`.
    public func otherPods(
        node: String, namespace: String, pod: String, fromMilliseconds from: Int64, toMilliseconds to: Int64
    ) async throws -> OtherPods? {
        let totals = try await store.podEnergy(node: node, fromMilliseconds: from, toMilliseconds: to)
        guard let until = totals.map(\.lastMilliseconds).max() else {
            // Nothing in the window yet: per-pod energy is on when the node has rows of the
            // hour before (the window's are written some seconds after it ends).
            let recent = try await store.podEnergy(
                node: node, fromMilliseconds: from.subtractingReportingOverflow(3_600_000).partialValue,
                toMilliseconds: .max)
            guard let latest = recent.map(\.lastMilliseconds).max() else { return nil }
            return OtherPods(joules: 0, attributedUntilMilliseconds: min(latest, from))
        }
        return OtherPods(
            joules: totals.filter { $0.kind == .pod && !($0.namespace == namespace && $0.pod == pod) }
                .reduce(0) { $0 + $1.joules },
            attributedUntilMilliseconds: until)
    }

    /// Closes the store.
    public func close() { store.close() }
}

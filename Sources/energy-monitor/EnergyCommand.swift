import ArgumentParser
import EnergyModel
import Foundation
import Store

/// `energy-monitor energy`: joules, average and peak power, samples and coverage of nodes
/// over a window, from the store.
struct EnergyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy",
        abstract: "Energy of nodes over a time window, from the SQLite store.",
        discussion: """
            Joules are the trapezoidal integral of power between samples at most 3 intervals apart; \
            longer gaps are not bridged and lower the coverage. Times: RFC 3339, unix seconds, now, now-1h.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @Option(name: .long, help: "The SQLite database of the service.")
    var database: String

    @Option(name: .long, parsing: .singleValue, help: "A node (repeatable or comma-separated; default: all).")
    var node: [String] = []

    @Option(name: .long, help: "Window start.")
    var from: String = "now-1h"

    @Option(name: .long, help: "Window end.")
    var to: String = "now"

    @Option(name: .long, help: "table, json or csv.")
    var format: Format = .table

    @Option(name: .long, help: "Poll interval (default: as recorded by the service, else 1s).")
    var interval: String?

    func run() async throws {
        let now = WallClock.nowMilliseconds()
        let fromMilliseconds: Int64
        let toMilliseconds: Int64
        do {
            fromMilliseconds = try TimeParsing.milliseconds(from, nowMilliseconds: now)
            toMilliseconds = try TimeParsing.milliseconds(to, nowMilliseconds: now)
        } catch {
            throw ValidationError("--from/--to: \(error)")
        }
        guard toMilliseconds > fromMilliseconds else { throw ValidationError("--to must be after --from") }
        guard FileManager.default.fileExists(atPath: database) else {
            throw CommandFailure("--database: \(database) does not exist")
        }
        let store = try EnergyStore(path: database, readOnly: true)
        defer { store.close() }
        let intervalMilliseconds = try await CommandSupport.interval(interval, store: store)
        let known = try await store.nodes()
        var nodes = node.flatMap { $0.split(separator: ",").map { String($0).trimmingSpaces() } }.filter { !$0.isEmpty }
        if nodes.isEmpty { nodes = known }
        for name in nodes where !known.contains(name) {
            throw CommandFailure("--node: no node \"\(name)\" in \(database) (known: \(known.joined(separator: ", ")))")
        }
        var results: [EnergyStore.NodeEnergy] = []
        for name in nodes {
            results.append(
                try await store.energy(
                    node: name, fromMilliseconds: fromMilliseconds, toMilliseconds: toMilliseconds,
                    maxGapMilliseconds: 3 * intervalMilliseconds
                )
            )
        }
        Console.write(EnergyReport(results: results).render(format))
    }
}

/// Renders energy figures as a table, JSON or CSV.
struct EnergyReport {
    let results: [EnergyStore.NodeEnergy]

    func render(_ format: EnergyCommand.Format) -> String {
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

    private func table() -> String {
        var lines = [
            "node".padding(toLength: 12, withPad: " ", startingAt: 0)
                + "from                  to                         joules    avg W   peak W  samples  coverage"
        ]
        for result in results {
            let energy = result.energy
            lines.append(
                result.node.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + Self.time(result.fromMilliseconds) + "  " + Self.time(result.toMilliseconds)
                    + String(format: " %14.1f", energy.joules)
                    + " " + Self.number(energy.averageWatts, 2).leftPadded(8)
                    + " " + Self.number(energy.peakWatts, 2).leftPadded(8)
                    + " " + String(energy.samples).leftPadded(8)
                    + " " + (String(format: "%.1f", result.coveragePercent) + " %").leftPadded(9)
            )
        }
        return lines.joined(separator: "\n")
    }

    private func csv() -> String {
        var lines = ["node,from,to,joules,avg_watts,peak_watts,samples,coverage_percent"]
        for result in results {
            let energy = result.energy
            lines.append(
                [
                    result.node, Self.time(result.fromMilliseconds), Self.time(result.toMilliseconds),
                    String(format: "%.3f", energy.joules), Self.number(energy.averageWatts, 3),
                    Self.number(energy.peakWatts, 3), String(energy.samples), String(format: "%.2f", result.coveragePercent),
                ].joined(separator: ",")
            )
        }
        return lines.joined(separator: "\n")
    }

    private func json() -> String {
        let objects = results.map { result -> String in
            let energy = result.energy
            let average = energy.averageWatts.map { String(format: "%.3f", $0) } ?? "null"
            let peak = energy.peakWatts.map { String(format: "%.3f", $0) } ?? "null"
            return "{\"node\":\"\(result.node)\",\"from\":\"\(Self.time(result.fromMilliseconds))\","
                + "\"to\":\"\(Self.time(result.toMilliseconds))\",\"joules\":\(String(format: "%.3f", energy.joules)),"
                + "\"avgWatts\":\(average),\"peakWatts\":\(peak),\"samples\":\(energy.samples),"
                + "\"coveragePercent\":\(String(format: "%.2f", result.coveragePercent))}"
        }
        return "[" + objects.joined(separator: ",") + "]"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

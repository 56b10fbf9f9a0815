import ArgumentParser
import EnergyModel
import Exporter
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

    typealias Format = EnergyReport.Format

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
        let report = try await EnergyReport.compute(
            store: store, nodes: nodes, fromMilliseconds: fromMilliseconds, toMilliseconds: toMilliseconds,
            intervalMilliseconds: intervalMilliseconds)
        Console.write(report.render(format))
    }
}

extension EnergyReport.Format: ExpressibleByArgument {}

import ArgumentParser
import EnergyModel
import EnergyQueries
import Foundation
import MonitorService
import Store

/// `energy-monitor energy`: joules, average and peak power, samples and coverage of nodes
/// over a window, from the store.
struct EnergyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy",
        abstract: "Energy of nodes over a time window, from the SQLite store.",
        discussion: """
            Joules are the trapezoidal integral of power between samples at most 3 intervals apart; \
            longer gaps are not bridged and lower the coverage. Times: RFC 3339, unix seconds, now, now-1h. \
            With --config (the service's file), its carbon: and price: add kWh, grams of CO2e and cost, \
            integrated minute by minute with the intensity and price in force.
            """
    )

    typealias Format = EnergyReport.Format

    @Option(name: .long, help: "The SQLite database of the service (default: the --config file's database).")
    var database: String?

    @Option(name: .long, help: "The service's configuration file: its carbon: and price: (and database:).")
    var config: String?

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
        // The window is checked before the store is opened, and reads as the HTTP API's does.
        let window: QueryWindow
        do throws(QueryError) {
            window = try EnergyQuery.window(
                from: from, to: to, nowMilliseconds: WallClock.nowMilliseconds(), maxWindowDays: nil)
        } catch {
            throw ValidationError(error.message(.option))
        }
        var settings = FootprintSettings()
        var configured: String?
        if let config {
            do throws(ConfigurationError) {
                (settings, configured) = try MonitorConfiguration.loadFootprint(path: config)
            } catch {
                throw CommandFailure("--config: \(error)")
            }
        }
        guard let database = database ?? configured else {
            throw ValidationError("give --database, or a --config whose file names its database")
        }
        guard FileManager.default.fileExists(atPath: database) else {
            throw CommandFailure("--database: \(database) does not exist")
        }
        let store = try EnergyStore(path: database, readOnly: true)
        defer { store.close() }
        let intervalMilliseconds = try await CommandSupport.interval(interval, store: store)
        let known = try await store.nodes()
        let query: EnergyQuery
        do throws(QueryError) {
            // `--node a --node b` asks what `node=a,b` asks.
            query = try EnergyQuery(node: node.joined(separator: ","), window: window, knownNodes: known)
        } catch {
            throw ValidationError(error.message(.option))
        }
        var report = try await EnergyReport.compute(
            store: store, query: query, intervalMilliseconds: intervalMilliseconds)
        try await report.addFootprints(
            store: store, intervalMilliseconds: intervalMilliseconds,
            rates: try await CommandSupport.rates(settings, store: store))
        Console.write(report.render(format))
    }
}

extension EnergyReport.Format: ExpressibleByArgument {}

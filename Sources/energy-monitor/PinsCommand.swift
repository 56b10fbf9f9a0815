import ArgumentParser
import EnergyModel
import Foundation
import Store

/// `energy-monitor pins`: the API family and identity each plug's password is pinned to, and
/// clearing a pin once the operator has confirmed that a plug was really replaced.
struct PinsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pins",
        abstract: "List the API family and device identity each plug's password is pinned to, or clear a pin.",
        discussion: """
            A plug with a password is pinned when it is first detected: its password then goes only to a device \
            of the same family (Gen1: Basic auth, Gen2+: Digest auth) with the same id and MAC address. Clear the \
            pin of a plug that was really replaced (or set `generation:` for it in the configuration): a running \
            service notices within seconds and pins the plug to the device that answers next.
            """
    )

    @Option(name: .long, help: "The SQLite database of the service.")
    var database: String

    @Option(name: .long, help: "Clear the pin of this node (of each of its meters, unless --meter names one).")
    var clear: String?

    @Option(name: .long, help: "With --clear: only the pin of this meter of the node.")
    var meter: String?

    func validate() throws {
        if let clear, clear.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--clear: the node name is empty")
        }
        if let meter {
            guard clear != nil else { throw ValidationError("--meter needs --clear NODE") }
            guard !meter.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--meter: the meter name is empty")
            }
        }
    }

    func run() async throws {
        guard FileManager.default.fileExists(atPath: database) else {
            throw CommandFailure("--database: \(database) does not exist")
        }
        // Read-only first: this checks that the file is a database of this schema version
        // before anything is written to it.
        let reader = try EnergyStore(path: database, readOnly: true, logger: CommandSupport.logger)
        let pins: [PlugPin]
        do {
            pins = try await reader.pins()
            reader.close()
        } catch {
            reader.close()
            throw error
        }
        guard let node = clear else {
            Console.write(Self.table(pins))
            return
        }
        let matching = pins.filter { $0.node == node && (meter == nil || $0.meter == meter) }
        guard !matching.isEmpty else {
            let pinned = pins.map(\.plugName).joined(separator: ", ")
            let plug = meter.map { "\(node)/\($0)" } ?? node
            throw CommandFailure(
                "--clear: no pin for \(LogText.escaped(plug)) "
                    + (pinned.isEmpty ? "(no plug is pinned)" : "(pinned: \(LogText.escaped(pinned)))"))
        }
        let store = try EnergyStore(path: database, logger: CommandSupport.logger)
        defer { store.close() }
        _ = try await store.clearPins(node: node, meter: meter)
        for pin in matching {
            Console.write(
                "cleared the pin of \(LogText.escaped(pin.plugName)): \(pin.family.rawValue) (\(pin.authScheme.rawValue)), "
                    + "id \(Self.text(pin.deviceID)), mac \(Self.text(pin.mac))")
        }
        Console.write("a running service detects the plug afresh within seconds; a stopped one when it starts")
    }

    /// One line per pin under a header, columns aligned; `-` for a value the device did not report.
    static func table(_ pins: [PlugPin]) -> String {
        guard !pins.isEmpty else { return "no plug is pinned (only plugs with a password are)" }
        let header = ["NODE", "METER", "FAMILY", "AUTH", "ID", "MAC", "FIRST SEEN"]
        let rows = pins.map { pin in
            [
                LogText.escaped(pin.node), text(pin.meter), pin.family.rawValue, pin.authScheme.rawValue,
                text(pin.deviceID), text(pin.mac), TimeParsing.utcText(milliseconds: pin.firstSeenMilliseconds),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, value in
                column == row.count - 1 ? value : value.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// A stored string for the terminal: control characters escaped (it came from a device), `-` when absent.
    private static func text(_ value: String?) -> String {
        value.map(LogText.escaped) ?? "-"
    }
}

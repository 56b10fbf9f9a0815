import EnergyModel
import Foundation
import UserInput

/// Reading and appending results files (CSV). Columns are found by name, so the runner's
/// files, the thesis's `thesis_results.csv` (no `Scheduler`: those runs used the energy
/// scheduler) and `results_baseline.csv` (no `Weight`, no `Profile`) all read.
public enum ResultFile {
    /// A results file that cannot be read, in one line naming the file and the line.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// One line.
        public let description: String
        /// Creates a failure.
        public init(_ description: String) { self.description = description }
    }

    /// The columns every results file needs.
    static let required = ["Timestamp", "Phase", "Node", "Duration", "Joules"]
    /// The largest results file read: a sweep writes some 100 bytes per phase.
    static let maxBytes = 256 << 20

    /// The rows of `path` (a missing or empty file has none when `missingIsEmpty`).
    public static func read(_ path: String, missingIsEmpty: Bool = false) throws(Failure) -> [ResultRow] {
        guard let data = try contents(path) else {
            if missingIsEmpty { return [] }
            throw Failure("\(path): cannot read: no such file")
        }
        guard let text = String(validating: data, as: UTF8.self) else { throw Failure("\(path): not UTF-8 text") }
        return try parse(text, file: path)
    }

    /// The bytes of the file at `path` through ``UserFile`` (a regular file: a FIFO given as a
    /// results file is refused, not waited on), nil when there is none.
    static func contents(_ path: String) throws(Failure) -> [UInt8]? {
        do {
            return try UserFile(path: path, maxBytes: maxBytes).bytes
        } catch {
            if error.reason == .missing { return nil }
            throw Failure("\(path): \(error.message)")
        }
    }

    /// Parses CSV text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(Failure) -> [ResultRow] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        while lines.last?.trimmingSpaces().isEmpty == true { lines.removeLast() }
        guard let headerLine = lines.first else { return [] }
        let header = splitFields(headerLine).map { $0.trimmingSpaces() }
        for column in required where !header.contains(column) {
            throw Failure(
                "\(file): line 1: no \(column) column (a results file has \(required.joined(separator: ", ")))")
        }
        func index(_ name: String) -> Int? { header.firstIndex(of: name) }
        var rows: [ResultRow] = []
        for (offset, line) in lines.enumerated().dropFirst() where !line.trimmingSpaces().isEmpty {
            let lineNumber = offset + 1
            let fields = splitFields(line)
            guard fields.count == header.count else {
                throw Failure("\(file): line \(lineNumber): \(fields.count) fields, the header has \(header.count)")
            }
            func text(_ name: String) -> String? {
                guard let index = index(name) else { return nil }
                let value = fields[index].trimmingSpaces()
                return value.isEmpty ? nil : value
            }
            func number(_ name: String, required: Bool = false) throws(Failure) -> Double? {
                guard let value = text(name) else {
                    if required { throw Failure("\(file): line \(lineNumber): \(name) is empty") }
                    return nil
                }
                guard let parsed = Double(value), parsed.isFinite else {
                    throw Failure("\(file): line \(lineNumber): \(name) \"\(value)\" is not a number")
                }
                return parsed
            }
            var scheduler: SchedulerChoice?
            if let value = text("Scheduler") {
                guard let choice = SchedulerChoice(text: value) else {
                    throw Failure("\(file): line \(lineNumber): Scheduler \"\(value)\" is neither energy nor standard")
                }
                scheduler = choice
            } else if index("Scheduler") == nil {
                // The thesis's own results file: every run went through the energy scheduler.
                scheduler = .energy
            }
            guard let timestamp = text("Timestamp"), let phase = text("Phase"), let node = text("Node") else {
                throw Failure("\(file): line \(lineNumber): Timestamp, Phase and Node must not be empty")
            }
            let weight = try number("Weight")
            if let weight, !(0...1).contains(weight) {
                throw Failure("\(file): line \(lineNumber): Weight \(weight) is outside 0...1")
            }
            rows.append(
                ResultRow(
                    timestamp: timestamp, phase: phase, weight: weight, node: node, profile: text("Profile"),
                    durationSeconds: try number("Duration", required: true) ?? 0, averageWatts: try number("AvgWatts"),
                    joules: try number("Joules", required: true) ?? 0, scheduler: scheduler,
                    coveragePercent: try number("Coverage"),
                    idleJoules: try number("IdleJoules"),
                    simulated: try simulated(text("Simulated"), line: lineNumber),
                    backfilledJoules: try number("BackfilledJoules"), attributedJoules: try number("AttributedJoules")))
            rows[rows.count - 1].kwh = try number("Kwh")
            rows[rows.count - 1].gramsCO2e = try number("GramsCO2e")
            rows[rows.count - 1].cost = try number("Cost")
            rows[rows.count - 1].currency = text("Currency")
        }
        return rows

        func simulated(_ value: String?, line: Int) throws(Failure) -> Bool {
            switch value?.lowercased() {
            case nil, "no", "false": return false
            case "yes", "true": return true
            case let other?: throw Failure("\(file): line \(line): Simulated \"\(other)\" is neither yes nor empty")
            }
        }
    }

    /// Appends `row` to `path` in the runner's columns, writing the header first when the
    /// file is new or empty; refuses a file whose header is another layout. Each row is
    /// written and flushed at once, so an interrupted sweep keeps every finished phase.
    public static func append(_ row: ResultRow, to path: String) throws(Failure) {
        let header = ResultRow.header.joined(separator: ",")
        let columns = try checkAppendable(path, simulated: row.simulated)
        let existing = try contents(path) ?? []
        var text = existing.isEmpty ? header + "\n" : ""
        if let last = existing.last, last != UInt8(ascii: "\n") { text += "\n" }
        let fields = Array(row.fields.prefix(columns))
        text += fields.map(csvField).joined(separator: ",") + "\n"
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw Failure("\(path): cannot create it")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw Failure("\(path): cannot write it") }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
        } catch {
            throw Failure("\(path): cannot write it (\(error.localizedDescription))")
        }
    }

    /// Whether rows can be appended to `path`: it is new, empty, or has the runner's header
    /// (or the one before `Kwh`, or before `AttributedJoules`, or before `BackfilledJoules`, or, for rows of a real cluster, the one before
    /// `Simulated`). Returns how many of the runner's columns the file has (or gets).
    @discardableResult
    public static func checkAppendable(_ path: String, simulated: Bool = false) throws(Failure) -> Int {
        guard let data = try contents(path), !data.isEmpty else {
            if FileManager.default.fileExists(atPath: path), !FileManager.default.isWritableFile(atPath: path) {
                throw Failure("\(path): not writable")
            }
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: path) || FileManager.default.isWritableFile(atPath: folder)
            else {
                throw Failure("\(path): cannot create it (folder \(folder) missing or not writable)")
            }
            return ResultRow.header.count
        }
        let first = String(decoding: data.prefix(while: { $0 != UInt8(ascii: "\n") }), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let current = first == ResultRow.header.joined(separator: ",")
        let withoutFootprint = first == ResultRow.headerWithoutFootprint.joined(separator: ",")
        let withoutAttributed = first == ResultRow.headerWithoutAttributed.joined(separator: ",")
        let withoutBackfilled = first == ResultRow.headerWithoutBackfilled.joined(separator: ",")
        let older = first == ResultRow.headerWithoutSimulated.joined(separator: ",")
        guard current || withoutFootprint || withoutAttributed || withoutBackfilled || older else {
            throw Failure(
                "\(path): its columns are \"\(first.prefix(120))\", not the runner's; choose a new --output file")
        }
        if older, simulated {
            throw Failure(
                "\(path): it has no Simulated column (written by an older runner, for a real cluster); choose a new --output file for simulated rows"
            )
        }
        guard FileManager.default.isWritableFile(atPath: path) else { throw Failure("\(path): not writable") }
        if current { return ResultRow.header.count }
        if withoutFootprint { return ResultRow.headerWithoutFootprint.count }
        if withoutAttributed { return ResultRow.headerWithoutAttributed.count }
        return withoutBackfilled ? ResultRow.headerWithoutBackfilled.count : ResultRow.headerWithoutSimulated.count
    }

    /// Splits one CSV line at commas outside double quotes (RFC 4180 quoting).
    static func splitFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character? = iterator.next()
        while let character = pending {
            pending = iterator.next()
            if quoted {
                if character == "\"" {
                    if pending == "\"" {
                        current.append("\"")
                        pending = iterator.next()
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    /// Quotes a field that holds a comma, a quote or a line break.
    public static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") || text.contains("\n")
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}

import JSON

/// A payload that does not have the expected shape, located by its path in the document
/// (`Nodes.items[1].metadata.name: missing`).
struct WireError: Error, Sendable, CustomStringConvertible {
    let path: String
    let problem: String

    var description: String { path.isEmpty ? problem : "\(path): \(problem)" }

    static func missing(_ path: String) -> WireError { WireError(path: path, problem: "missing") }

    static func expected(_ kind: String, at path: String, found value: JSONValue) -> WireError {
        WireError(path: path, problem: "expected \(kind), found \(value.kindName)")
    }
}

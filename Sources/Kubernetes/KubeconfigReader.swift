import Foundation
import JSON
import UserInput

/// The fields of a kubeconfig entry, read from ``YAMLValue``s of one file. Keys of other
/// tools (`preferences`, `extensions` other than the exec plugin's) are no concern here, as
/// for kubectl; the ones read are checked.
struct KubeconfigReader {
    /// The folder of the file the entry is in.
    let baseDirectory: String

    /// The trimmed single value of `key`; nil when absent or empty.
    func string(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> String? {
        guard let member = value.member(key), !member.isNull else { return nil }
        let text = try member.rawString().trimmingSpaces()
        return text.isEmpty ? nil : text
    }

    /// Like `string`, refusing control characters: the value goes into a request header.
    func headerValue(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> String? {
        guard let text = try string(value, key) else { return nil }
        try Self.checkHeaderValue(text, at: value.path(of: key))
        return text
    }

    static func checkHeaderValue(_ text: String, at path: String) throws(KeyPathError) {
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw KeyPathError(path, "must not contain control characters (it becomes a request header)")
        }
    }

    /// A list of single values, empty when absent.
    func strings(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> [String] {
        guard let member = value.member(key), !member.isNull else { return [] }
        return try member.list().map { (element) throws(KeyPathError) in try element.rawString() }
    }

    func base64(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> [UInt8]? {
        guard let text = try string(value, key) else { return nil }
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw KeyPathError(value.path(of: key), "is not base64")
        }
        return [UInt8](data)
    }

    func bool(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> Bool {
        guard try string(value, key) != nil, let member = value.member(key) else { return false }
        return try member.bool()
    }

    /// The file named by `key`, resolved (relative to the kubeconfig's folder, `~/` to the home
    /// folder) and read once through ``UserFile``, so a wrong path, a folder or a FIFO is named
    /// now and not as a TLS failure later.
    func file(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> String? {
        guard let name = try string(value, key) else { return nil }
        let file = resolve(name)
        do {
            _ = try UserFile(path: file)
        } catch {
            throw KeyPathError(value.path(of: key), "cannot read \(file): \(error.problem)")
        }
        return file
    }

    func resolve(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        if file.hasPrefix("~/") { return NSHomeDirectory() + file.dropFirst(1) }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(file).standardizedFileURL.path
    }

    /// Any YAML value as JSON (the exec plugin's cluster `config` extension), scalars typed
    /// the way YAML reads them.
    static func json(_ node: YAMLNode) -> JSONValue {
        switch node.content {
        case .scalar(let scalar):
            switch scalar.typed {
            case .null: return .null
            case .bool(let value): return .bool(value)
            case .integer(let value): return .integer(value)
            case .double(let value): return .double(value)
            case .string(let value): return .string(value)
            }
        case .sequence(let elements):
            return .array(elements.map { json($0) })
        case .mapping(let entries):
            var object: [String: JSONValue] = [:]
            for entry in entries { object[entry.key] = json(entry.value) }
            return .object(object)
        }
    }
}

import Foundation

/// A parsed JSON document. Shelly payloads are heterogeneous (component keys such as
/// `switch:0`, numbers that may be integers or null), so they are navigated as a tree
/// rather than decoded into fixed structs.
public enum JSONValue: Sendable, Equatable, Decodable {
    /// `null`
    case null
    /// `true` / `false`
    case bool(Bool)
    /// Any number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Decodes any JSON value (for callers holding a `Decoder`; `parse(_:)` does not use this).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses bytes; throws `ShellyPayloadError` for anything that is not JSON (reason `parse`)
    /// and for JSON-shaped bodies without believable numbers: cut off, `NaN`, `Infinity`,
    /// numbers beyond `Double` (reason `invalid`). Bodies above 256 KiB or nested deeper than
    /// 64 levels never reach the parser.
    public static func parse(_ bytes: [UInt8]) throws(ShellyPayloadError) -> JSONValue {
        try JSONPreflight.check(bytes)
        guard let value = JSONReader.parse(bytes) else {
            throw ShellyPayloadError("not JSON (\(bytes.count) bytes)")
        }
        return value
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element `index` of an array, or nil.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// The number, or nil for anything else (including null).
    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The boolean, or nil.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The string, or nil.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The members of an object, or nil.
    public var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The elements of an array, or nil.
    public var array: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

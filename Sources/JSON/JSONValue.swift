/// Any JSON value, as parsed: the one tree type of the package, for Shelly payloads (whose
/// component keys such as `switch:0` and numbers that may be integers or null are navigated
/// rather than decoded into fixed structs) and for Kubernetes objects that must be passed back
/// unchanged (a filter response for `nodeCacheCapable: false` returns whole node objects).
///
/// Integers are kept apart from other numbers so that they round-trip exactly (resource
/// versions, ports) and so that readers of integer fields never convert a floating-point value.
public enum JSONValue: Sendable, Hashable, Codable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits 64 bits.
    case integer(Int64)
    /// Any other (finite) number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; key order is not preserved (JSON objects are unordered).
    case object([String: JSONValue])

    /// JSON's equality: numbers compare by value whether written as integers or not (`1` is
    /// `1.0`, as for `JSONDecoder`, which reads `0.0` as an integer when asked), everything
    /// else by case and content; object member order never matters.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.integer(let a), .double(let b)), (.double(let b), .integer(let a)): Double(exactly: a) == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    /// Hashes consistently with `==`: an integer that a `Double` holds exactly hashes as that double.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(1); hasher.combine(value)
        case .integer(let value):
            if let exact = Double(exactly: value) {
                hasher.combine(2); hasher.combine(exact)
            } else {
                hasher.combine(3); hasher.combine(value)
            }
        case .double(let value): hasher.combine(2); hasher.combine(value)
        case .string(let value): hasher.combine(4); hasher.combine(value)
        case .array(let value): hasher.combine(5); hasher.combine(value)
        case .object(let value): hasher.combine(6); hasher.combine(value)
        }
    }

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as it was decoded.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses one JSON document from bytes with a strict RFC 8259 reader (see `JSONReader`);
    /// nil for anything else, including numbers beyond `Double`.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        JSONReader.parse(bytes)
    }

    /// The member `key` of an object; nil for other values and absent keys.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The element `index` of an array, or nil.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// Any number as a `Double` (an integer beyond 2^53 rounds to the nearest), nil for
    /// anything else (including null).
    public var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// A number that is exactly an integer of 64 bits (`2`, also `2.0`), else nil: a value
    /// such as `1e300` or `2.5` is not an integer, and is never converted with a trap.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .double(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The boolean, or nil.
    public var bool: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The string, or nil.
    public var string: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The members of an object, or nil.
    public var object: [String: JSONValue]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The elements of an array, or nil.
    public var array: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// A short name of the value's kind, for error messages (`a number`, `an object`).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

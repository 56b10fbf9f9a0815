import EnergyModel
import Foundation
import JSON

// Reading the wire types out of parsed JSON with errors that name the offending path.

extension JSONValue {
    /// The members of an object at `path`.
    func object(at path: String) throws(WireError) -> [String: JSONValue] {
        guard case .object(let members) = self else { throw .expected("an object", at: path, found: self) }
        return members
    }

    /// A string-to-string map (labels, annotations) at `path`; absent or null is empty.
    static func stringMap(_ value: JSONValue?, at path: String) throws(WireError) -> [String: String] {
        guard let value, !value.isNull else { return [:] }
        var result: [String: String] = [:]
        for (key, member) in try value.object(at: path) {
            guard let text = member.string else {
                throw .expected("a string", at: "\(path).\(key)", found: member)
            }
            result[key] = text
        }
        return result
    }

    /// Parses a request body, turning the decoder's multi-part error into one line.
    static func parse(_ data: Data) throws(WireError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            let detail = context.underlyingError.map { String(describing: $0) } ?? context.debugDescription
            throw WireError(path: "", problem: "malformed JSON (\(detail.foldedToOneLine()))")
        } catch {
            throw WireError(path: "", problem: "malformed JSON (\(String(describing: error).foldedToOneLine()))")
        }
    }

    /// Decodes `T` from a JSON value through its wire initialiser, reporting shape errors as
    /// `DecodingError` for `Codable` callers.
    static func decodeWire<T>(
        from decoder: any Decoder,
        _ make: (JSONValue) throws(WireError) -> T
    ) throws -> T {
        let value = try JSONValue(from: decoder)
        do {
            return try make(value)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description)
            )
        }
    }
}

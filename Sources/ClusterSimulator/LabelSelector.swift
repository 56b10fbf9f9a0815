import Foundation

/// A Kubernetes label selector (`app=ml-workflow,tier!=web,gpu,!spot,zone in (a,b)`) or
/// field selector (`metadata.name=x`), parsed once and matched against key-value maps.
struct LabelSelector: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case notExists(String)
        case oneOf(String, Set<String>)
        case noneOf(String, Set<String>)
    }

    let requirements: [Requirement]

    /// The empty selector: matches everything.
    static let everything = LabelSelector(requirements: [])

    private init(requirements: [Requirement]) {
        self.requirements = requirements
    }

    /// Why a selector was refused: one line.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `text`; the empty selector matches everything.
    init(_ text: String) throws(Failure) {
        var requirements: [Requirement] = []
        for part in Self.split(text) {
            let term = part.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            if let range = term.range(of: " notin ") ?? term.range(of: " in ") {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let rest = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")"), !key.isEmpty else {
                    throw Failure(description: "invalid selector term \"\(term)\"")
                }
                let values = Set(
                    rest.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                requirements.append(term[range].contains("notin") ? .noneOf(key, values) : .oneOf(key, values))
            } else if let range = term.range(of: "!=") {
                requirements.append(
                    .notEquals(Self.key(term[..<range.lowerBound]), Self.key(term[range.upperBound...])))
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                requirements.append(.equals(Self.key(term[..<range.lowerBound]), Self.key(term[range.upperBound...])))
            } else if term.hasPrefix("!") {
                requirements.append(.notExists(Self.key(term.dropFirst())))
            } else {
                requirements.append(.exists(term))
            }
        }
        for requirement in requirements {
            if case .equals(let key, _) = requirement, key.isEmpty {
                throw Failure(description: "invalid selector \"\(text)\"")
            }
        }
        self.requirements = requirements
    }

    private static func key(_ text: Substring) -> String { text.trimmingCharacters(in: .whitespaces) }

    /// Splits at commas outside parentheses.
    private static func split(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    /// Whether `values` (labels, or an object's selectable fields) satisfy every requirement.
    func matches(_ values: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): values[key] == value
            case .notEquals(let key, let value): values[key] != value
            case .exists(let key): values[key] != nil
            case .notExists(let key): values[key] == nil
            case .oneOf(let key, let set): values[key].map(set.contains) ?? false
            case .noneOf(let key, let set): !(values[key].map(set.contains) ?? false)
            }
        }
    }
}

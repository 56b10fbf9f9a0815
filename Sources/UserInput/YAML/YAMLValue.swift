/// A node of a YAML document together with its key path, read strictly: every accessor either
/// returns a checked value or throws a ``KeyPathError`` naming the path (`plugs[2].address:
/// missing`, `interval: not a duration: "fast" ...`).
///
/// The one reader of the service configuration, workflow files, knowledge bases and kubeconfigs:
/// documents come from ``YAMLDocument``, which bounds what aliases can make of a small file.
public struct YAMLValue: Sendable {
    /// The node.
    public let node: YAMLNode
    /// Where it sits in the document (`phases[1].resources.limits`); empty for the root.
    public let keyPath: String

    /// A value at `keyPath`. Readers name children through ``child(_:)`` and ``list()``; this is
    /// for documents that name entries their own way (a kubeconfig's `clusters[name]`).
    public init(_ node: YAMLNode, keyPath: String) {
        self.node = node
        self.keyPath = keyPath
    }

    /// An error at this value's key path.
    public func error(_ message: String) -> KeyPathError {
        KeyPathError(keyPath, message)
    }

    /// The key path of `key` inside this mapping.
    public func path(of key: String) -> String {
        keyPath.isEmpty ? key : "\(keyPath).\(key)"
    }

    /// A short description for messages: `"5"` for a scalar, `null`, `a list`, `a mapping`.
    public var kindDescription: String {
        switch node.content {
        case .scalar(let scalar): scalar.isNull ? "null" : "\"\(scalar.text)\""
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// Whether the value is a YAML null (`~`, `null`, or nothing after the colon).
    public var isNull: Bool {
        if case .scalar(let scalar) = node.content { return scalar.isNull }
        return false
    }

    /// The scalar, if the value is one.
    public var scalar: YAMLScalar? {
        if case .scalar(let scalar) = node.content { return scalar }
        return nil
    }

    // MARK: - Collections

    /// The entries of a mapping in document order, each with its key path.
    public func entries() throws(KeyPathError) -> [(key: String, value: YAMLValue)] {
        guard case .mapping(let entries) = node.content else {
            throw error("must be a mapping, not \(kindDescription)")
        }
        return entries.map { (key: $0.key, value: YAMLValue($0.value, keyPath: path(of: $0.key))) }
    }

    /// The values of a mapping by key, refusing keys not in `known` with the known ones listed,
    /// so a typo (`adress`) is named instead of being ignored or reported as a missing key.
    /// (A key given twice never gets here: ``YAMLDocument`` refuses it.)
    public func fields(known: [String]) throws(KeyPathError) -> YAMLFields {
        var values: [String: YAMLValue] = [:]
        for (key, value) in try entries() {
            guard known.contains(key) else {
                throw KeyPathError(path(of: key), "unknown key (known: \(known.joined(separator: ", ")))")
            }
            values[key] = value
        }
        return YAMLFields(keyPath: keyPath, values: values)
    }

    /// The value of `key` in a mapping, nil when absent; other keys are no concern here (for
    /// files with keys of other programs, such as kubeconfigs).
    public func member(_ key: String) -> YAMLValue? {
        guard case .mapping(let entries) = node.content, let entry = entries.first(where: { $0.key == key }) else {
            return nil
        }
        return YAMLValue(entry.value, keyPath: path(of: key))
    }

    /// The items of a list, each with its key path (`phases[2]`).
    public func list(_ hint: String? = nil) throws(KeyPathError) -> [YAMLValue] {
        guard case .sequence(let items) = node.content else {
            throw error("must be a list" + (hint.map { ", \($0)" } ?? ", not \(kindDescription)"))
        }
        return items.enumerated().map { YAMLValue($0.element, keyPath: "\(keyPath)[\($0.offset)]") }
    }

    /// A list of non-empty single values.
    public func stringList() throws(KeyPathError) -> [String] {
        var values: [String] = []
        for item in try list() { values.append(try item.string()) }
        return values
    }
}

/// The values of a mapping read with ``YAMLValue/fields(known:)``.
public struct YAMLFields: Sendable {
    /// The mapping's key path.
    public let keyPath: String
    private let values: [String: YAMLValue]

    init(keyPath: String, values: [String: YAMLValue]) {
        self.keyPath = keyPath
        self.values = values
    }

    /// The value of `key`, nil when absent.
    public subscript(key: String) -> YAMLValue? { values[key] }

    /// The value of `key`, or `key: missing` (with `hint` in parentheses).
    public func required(_ key: String, _ hint: String? = nil) throws(KeyPathError) -> YAMLValue {
        guard let value = values[key] else {
            throw KeyPathError(keyPath.isEmpty ? key : "\(keyPath).\(key)", "missing" + (hint.map { " (\($0))" } ?? ""))
        }
        return value
    }
}

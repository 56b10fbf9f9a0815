import Yams

extension KnowledgeBase {
    /// The keys an entry must have, in the order errors report missing ones.
    private static let entryKeys = ["nodeName", "performanceRate", "powerConsumptionWatts", "idlePowerWatts"]

    /// Parses either document shape into profiles; range checks are left to ``validate(_:)``.
    static func parseProfiles(yaml: String) throws(KnowledgeBaseError) -> [Profile] {
        let root = try compose(yaml, keyPath: "")
        guard case .mapping(let mapping) = root, let kind = mapping["kind"] else {
            return try parseBareProfiles(root)
        }
        // A manifest: only a ConfigMap carries the profiles, as a YAML string in its data.
        guard kind.scalar?.string == "ConfigMap" else {
            throw KnowledgeBaseError(keyPath: "kind", problem: "expected ConfigMap, found \(describe(kind))")
        }
        guard let data = mapping["data"] else {
            throw KnowledgeBaseError(keyPath: "data", problem: "missing")
        }
        guard case .mapping(let dataMapping) = data else {
            throw KnowledgeBaseError(keyPath: "data", problem: "expected a mapping, found \(describe(data))")
        }
        let keyPath = "data.\"\(configMapKey)\""
        guard let embedded = dataMapping[configMapKey] else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "missing")
        }
        guard let text = embedded.scalar?.string else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "expected a YAML string, found \(describe(embedded))")
        }
        return try parseBareProfiles(compose(text, keyPath: keyPath))
    }

    /// Parses `{<profile>: [entry, ...]}`.
    private static func parseBareProfiles(_ root: Node) throws(KnowledgeBaseError) -> [Profile] {
        guard case .mapping(let mapping) = root else {
            throw KnowledgeBaseError(
                keyPath: "",
                problem: "expected a mapping of profile names to entry lists, found \(describe(root))"
            )
        }
        var profiles: [Profile] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                throw KnowledgeBaseError(keyPath: "", problem: "profile names must be strings, found \(describe(key))")
            }
            let entries: [ProfileEntry]
            switch value {
            case .sequence(let sequence):
                entries = try sequence.enumerated().map { (index, node) throws(KnowledgeBaseError) in
                    try parseEntry(node, keyPath: "\(name)[\(index)]")
                }
            case .scalar where isNull(value):
                entries = []  // `training:` with nothing under it; validation reports it as empty
            default:
                throw KnowledgeBaseError(keyPath: name, problem: "expected a list of entries, found \(describe(value))")
            }
            profiles.append(Profile(name: name, entries: entries))
        }
        return profiles
    }

    private static func parseEntry(_ node: Node, keyPath: String) throws(KnowledgeBaseError) -> ProfileEntry {
        guard case .mapping(let mapping) = node else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "expected a mapping, found \(describe(node))")
        }
        var fields: [String: Node] = [:]
        for (key, value) in mapping {
            let name = key.scalar?.string ?? describe(key)
            // Unknown keys are usually typos of a known one (`performancerate`); rejecting them
            // says so instead of reporting the real key as missing or silently ignoring it.
            guard entryKeys.contains(name) else {
                throw KnowledgeBaseError(keyPath: "\(keyPath).\(name)", problem: "unknown key")
            }
            guard fields.updateValue(value, forKey: name) == nil else {
                throw KnowledgeBaseError(keyPath: "\(keyPath).\(name)", problem: "duplicate key")
            }
        }
        for key in entryKeys where fields[key] == nil || isNull(fields[key]!) {
            throw KnowledgeBaseError(keyPath: "\(keyPath).\(key)", problem: "missing")
        }
        guard let nodeName = fields["nodeName"]?.scalar?.string else {
            throw KnowledgeBaseError(
                keyPath: "\(keyPath).nodeName", problem: "expected a string, found \(describe(fields["nodeName"]!))")
        }
        return ProfileEntry(
            nodeName: nodeName,
            performanceRate: try number(fields["performanceRate"]!, keyPath: "\(keyPath).performanceRate"),
            powerConsumptionWatts: try number(
                fields["powerConsumptionWatts"]!, keyPath: "\(keyPath).powerConsumptionWatts"),
            idlePowerWatts: try number(fields["idlePowerWatts"]!, keyPath: "\(keyPath).idlePowerWatts")
        )
    }

    /// A finite decimal number, quoted or not. Only plain decimal notation is accepted: Swift's
    /// `Double(_:)` alone would also take `nan`, `inf` and hexadecimal floats, which no
    /// benchmark figure is written as.
    private static func number(_ node: Node, keyPath: String) throws(KnowledgeBaseError) -> Double {
        guard let text = node.scalar?.string else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "not a number (found \(describe(node)))")
        }
        let allowed = Set("0123456789+-.eE")
        guard !text.isEmpty, text.allSatisfy(allowed.contains), let value = Double(text) else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "not a number (\"\(text.prefix(40))\")")
        }
        // `1e999` and 400-digit figures parse as infinity; no benchmark measured that.
        guard value.isFinite else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "not a finite number (\"\(text.prefix(40))\")")
        }
        return value
    }

    private static func compose(_ yaml: String, keyPath: String) throws(KnowledgeBaseError) -> Node {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "invalid YAML (\(syntaxProblem(error)))")
        }
        guard let node else {
            throw KnowledgeBaseError(keyPath: keyPath, problem: "empty document")
        }
        return node
    }

    /// Yams describes syntax errors over several lines with a source snippet; a log line
    /// needs only the position, the problem and what the parser was doing.
    private static func syntaxProblem(_ error: any Error) -> String {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " \($0.text) at line \($0.mark.line), column \($0.mark.column)" } ?? ""
            return "line \(mark.line), column \(mark.column): \(problem)" + (during.isEmpty ? "" : ",\(during)")
        default:
            return String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
        }
    }

    private static func isNull(_ node: Node) -> Bool {
        // Yams resolves the tag: `~`, `null` and an empty plain value are null, `"null"` is a string.
        node.null != nil
    }

    /// A short description of a node for error messages.
    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return isNull(node) ? "null" : "\"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

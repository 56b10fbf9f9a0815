import UserInput

extension KnowledgeBase {
    /// The keys an entry must have, in the order errors report missing ones.
    private static let entryKeys = ["nodeName", "performanceRate", "powerConsumptionWatts", "idlePowerWatts"]

    /// Parses either document shape into profiles; range checks are left to ``validate(_:)``.
    static func parseProfiles(yaml: String) throws(KnowledgeBaseError) -> [Profile] {
        guard let root = try YAMLDocument.parse(yaml) else { throw KnowledgeBaseError("", "empty document") }
        guard case .mapping = root.node.content, let kind = root.member("kind") else {
            return try parseBareProfiles(root)
        }
        // A manifest: only a ConfigMap carries the profiles, as a YAML string in its data.
        guard kind.scalar?.text == "ConfigMap" else {
            throw kind.error("expected ConfigMap, found \(kind.kindDescription)")
        }
        guard let data = root.member("data") else { throw KnowledgeBaseError("data", "missing") }
        _ = try data.entries()  // a mapping
        let keyPath = "data.\"\(configMapKey)\""
        guard let embedded = data.member(configMapKey) else { throw KnowledgeBaseError(keyPath, "missing") }
        guard let text = embedded.scalar?.text else {
            throw KnowledgeBaseError(keyPath, "must be the profiles as a YAML string, not \(embedded.kindDescription)")
        }
        let profiles: YAMLValue?
        do {
            profiles = try YAMLDocument.parse(text)
        } catch {
            // Problems of the embedded document as a whole are placed at its key.
            throw error.keyPath.isEmpty ? KnowledgeBaseError(keyPath, error.message) : error
        }
        guard let profiles else { throw KnowledgeBaseError(keyPath, "empty document") }
        return try parseBareProfiles(profiles)
    }

    /// Parses `{<profile>: [entry, ...]}`.
    private static func parseBareProfiles(_ root: YAMLValue) throws(KnowledgeBaseError) -> [Profile] {
        guard case .mapping = root.node.content else {
            throw root.error("must be a mapping of profile names to entry lists, not \(root.kindDescription)")
        }
        var profiles: [Profile] = []
        for (name, value) in try root.entries() {
            let entries: [ProfileEntry]
            if value.isNull {
                entries = []  // `training:` with nothing under it; validation reports it as empty
            } else {
                guard let list = try? value.list() else {
                    throw value.error("must be a list of entries, not \(value.kindDescription)")
                }
                entries = try list.map { (entry) throws(KnowledgeBaseError) in try parseEntry(entry) }
            }
            profiles.append(Profile(name: name, entries: entries))
        }
        return profiles
    }

    private static func parseEntry(_ value: YAMLValue) throws(KnowledgeBaseError) -> ProfileEntry {
        // Unknown keys are usually typos of a known one (`performancerate`); refusing them
        // says so instead of reporting the real key as missing or silently ignoring it.
        let fields = try value.fields(known: entryKeys)
        for key in entryKeys where fields[key] == nil || fields[key]?.isNull == true {
            throw KnowledgeBaseError(value.path(of: key), "missing")
        }
        return ProfileEntry(
            nodeName: try fields.required("nodeName").rawString(),
            performanceRate: try fields.required("performanceRate").number(),
            powerConsumptionWatts: try fields.required("powerConsumptionWatts").number(),
            idlePowerWatts: try fields.required("idlePowerWatts").number()
        )
    }
}

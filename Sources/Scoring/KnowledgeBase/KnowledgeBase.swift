import UserInput

/// The benchmark knowledge base: workload profiles, each a list of per-variant benchmark
/// entries. Values of this type have always passed validation.
///
/// It loads from either shape the project meets in practice:
/// * the ConfigMap manifest (`kind: ConfigMap`, the profiles as a YAML string under
///   `data."profiles.yaml"`), as kept in the repository and applied with kubectl;
/// * the bare `profiles.yaml` (`{<profile>: [{nodeName, performanceRate,
///   powerConsumptionWatts, idlePowerWatts}]}`), as a ConfigMap volume mounts it.
public struct KnowledgeBase: Sendable, Hashable {
    /// The ConfigMap data key that holds the profiles.
    public static let configMapKey = "profiles.yaml"
    /// The largest knowledge-base file read: the thesis's has 2 KB, and the extender that
    /// holds it runs in 128 MiB.
    public static let maxFileBytes = 1 << 20

    /// The profiles in document order.
    public let profiles: [Profile]

    /// Creates a knowledge base from profiles built in code, with the same validation as loading.
    public init(profiles: [Profile]) throws(KnowledgeBaseError) {
        try Self.validate(profiles)
        self.profiles = profiles
    }

    /// Parses either YAML shape (see the type's documentation) and validates the result.
    public init(yaml: String) throws(KnowledgeBaseError) {
        try self.init(profiles: Self.parseProfiles(yaml: yaml))
    }

    /// Reads and parses a knowledge-base file (a regular file of at most ``maxFileBytes``);
    /// errors name the file.
    public init(contentsOfFile path: String) throws(KnowledgeBaseError) {
        try self.init(file: try Self.read(path))
    }

    /// Reads the file at `path` as ``UserFile`` does, within ``maxFileBytes``.
    static func read(_ path: String) throws(KnowledgeBaseError) -> UserFile {
        do {
            return try UserFile(path: path, maxBytes: maxFileBytes)
        } catch {
            throw error.keyPathError
        }
    }

    init(file: UserFile) throws(KnowledgeBaseError) {
        let text: String
        do {
            text = try file.text()
        } catch {
            throw error.keyPathError
        }
        do {
            try self.init(yaml: text)
        } catch {
            throw error.located(in: file.path)
        }
    }

    /// The profile names in document order.
    public var profileNames: [String] { profiles.map(\.name) }

    /// The profile called `name`, or an error listing the known profiles.
    public func profile(named name: String) throws(KnowledgeBaseError) -> Profile {
        guard let profile = profiles.first(where: { $0.name == name }) else {
            let known = profileNames.sorted().joined(separator: ", ")
            throw KnowledgeBaseError(name, "unknown profile (known: \(known))")
        }
        return profile
    }

    /// Rejects what would make scores meaningless: no profiles, empty profiles, unnamed or
    /// duplicate variants, and negative or non-finite figures. A power of 0 and an idle above
    /// the load power stay allowed because the formula defines them (1 W, 1 W of delta).
    static func validate(_ profiles: [Profile]) throws(KnowledgeBaseError) {
        guard !profiles.isEmpty else {
            throw KnowledgeBaseError("", "no profiles")
        }
        var seenProfiles = Set<String>()
        for profile in profiles {
            guard !profile.name.isEmpty else {
                throw KnowledgeBaseError("\"\"", "empty profile name")
            }
            guard seenProfiles.insert(profile.name).inserted else {
                throw KnowledgeBaseError(profile.name, "duplicate profile")
            }
            guard !profile.entries.isEmpty else {
                throw KnowledgeBaseError(profile.name, "empty profile list")
            }
            var firstIndexOfVariant: [String: Int] = [:]
            for (index, entry) in profile.entries.enumerated() {
                let path = "\(profile.name)[\(index)]"
                guard !entry.nodeName.isEmpty else {
                    throw KnowledgeBaseError("\(path).nodeName", "empty")
                }
                if let first = firstIndexOfVariant[entry.nodeName] {
                    throw KnowledgeBaseError(
                        "\(path).nodeName",
                        "duplicate of \(profile.name)[\(first)] (\"\(entry.nodeName)\")"
                    )
                }
                firstIndexOfVariant[entry.nodeName] = index
                let figures: [(String, Double)] = [
                    ("performanceRate", entry.performanceRate),
                    ("powerConsumptionWatts", entry.powerConsumptionWatts),
                    ("idlePowerWatts", entry.idlePowerWatts),
                ]
                for (field, value) in figures {
                    guard value.isFinite else {
                        throw KnowledgeBaseError("\(path).\(field)", "not a finite number (\(value))")
                    }
                    guard value >= 0 else {
                        throw KnowledgeBaseError("\(path).\(field)", "negative (\(value))")
                    }
                }
            }
        }
    }
}

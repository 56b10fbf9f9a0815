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

    /// Reads and parses a knowledge-base file; errors name the file.
    public init(contentsOfFile path: String) throws(KnowledgeBaseError) {
        let snapshot = try FileSnapshot.read(path: path)
        try self.init(snapshot: snapshot)
    }

    init(snapshot: FileSnapshot) throws(KnowledgeBaseError) {
        guard let text = String(validating: snapshot.content, as: UTF8.self) else {
            throw KnowledgeBaseError(file: snapshot.path, keyPath: "", problem: "not UTF-8 text")
        }
        do {
            try self.init(yaml: text)
        } catch {
            throw error.located(in: snapshot.path)
        }
    }

    /// The profile names in document order.
    public var profileNames: [String] { profiles.map(\.name) }

    /// The profile called `name`, or an error listing the known profiles.
    public func profile(named name: String) throws(KnowledgeBaseError) -> Profile {
        guard let profile = profiles.first(where: { $0.name == name }) else {
            let known = profileNames.sorted().joined(separator: ", ")
            throw KnowledgeBaseError(keyPath: name, problem: "unknown profile (known: \(known))")
        }
        return profile
    }

    /// Rejects what would make scores meaningless: no profiles, empty profiles, unnamed or
    /// duplicate variants, and negative or non-finite figures. A power of 0 and an idle above
    /// the load power stay allowed because the formula defines them (1 W, 1 W of delta).
    static func validate(_ profiles: [Profile]) throws(KnowledgeBaseError) {
        guard !profiles.isEmpty else {
            throw KnowledgeBaseError(keyPath: "", problem: "no profiles")
        }
        var seenProfiles = Set<String>()
        for profile in profiles {
            guard !profile.name.isEmpty else {
                throw KnowledgeBaseError(keyPath: "\"\"", problem: "empty profile name")
            }
            guard seenProfiles.insert(profile.name).inserted else {
                throw KnowledgeBaseError(keyPath: profile.name, problem: "duplicate profile")
            }
            guard !profile.entries.isEmpty else {
                throw KnowledgeBaseError(keyPath: profile.name, problem: "empty profile list")
            }
            var firstIndexOfVariant: [String: Int] = [:]
            for (index, entry) in profile.entries.enumerated() {
                let path = "\(profile.name)[\(index)]"
                guard !entry.nodeName.isEmpty else {
                    throw KnowledgeBaseError(keyPath: "\(path).nodeName", problem: "empty")
                }
                if let first = firstIndexOfVariant[entry.nodeName] {
                    throw KnowledgeBaseError(
                        keyPath: "\(path).nodeName",
                        problem: "duplicate of \(profile.name)[\(first)] (\"\(entry.nodeName)\")"
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
                        throw KnowledgeBaseError(keyPath: "\(path).\(field)", problem: "not a finite number (\(value))")
                    }
                    guard value >= 0 else {
                        throw KnowledgeBaseError(keyPath: "\(path).\(field)", problem: "negative (\(value))")
                    }
                }
            }
        }
    }
}

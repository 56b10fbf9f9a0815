/// Bounds on what a YAML document may make of itself, so that a small file cannot cost
/// minutes or gigabytes to read.
///
/// Aliases let a few hundred bytes describe billions of nodes: ten aliases of ten aliases of
/// ... nine levels deep are 10^9 values (the "billion laughs"). Other libyaml-based readers
/// bound this too (go-yaml and with it Kubernetes refuse "excessive aliasing"). Here the
/// composer counts, while it reads, how many nodes aliases add and how deep they nest the
/// document, and stops at the first node past a bound, before anything walks, hashes or
/// copies the expansion.
public struct YAMLLimits: Sendable, Hashable {
    /// The deepest nesting, aliases expanded: the root is level 1, a value in it level 2.
    /// Our files nest at most 8 levels (a workflow's volume definitions); libyaml's own limit
    /// on written nesting is 1,000.
    public var maxDepth: Int
    /// How many nodes aliases may add in all, counting every node of each repeated part. A
    /// document that writes out more nodes than this may add as many as it writes.
    public var maxAliasNodes: Int

    /// Creates limits.
    public init(maxDepth: Int = 64, maxAliasNodes: Int = 10_000) {
        self.maxDepth = maxDepth
        self.maxAliasNodes = maxAliasNodes
    }

    /// The limits every reader of user files uses.
    public static let standard = YAMLLimits()
}
